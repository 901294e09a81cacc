"""Edits of a journey's step list as the designer makes them: a step added after another (on its
yes/no lane) or at the start, a step's settings replaced, a step removed (whoever led to it goes on
to its next step). The list is then checked and stored whole by the journeys' services."""

from __future__ import annotations

import re

from ..models import BRANCHING_KINDS, Journey
from ..selectors import step_representation
from .step_forms import CONFIG_FIELD

START = "start"
STEP_ERROR = re.compile(r"^steps\[(\d+)\](?:\.(next|else|key|kind|config)(?:\.(\w+))?)?$")


def current_steps(journey: Journey) -> list[dict]:
    """The journey's steps as the services take them, in order; an email step made from a template
    keeps only the template's id (its content is copied in again when saved)."""
    steps = list(journey.steps.order_by("position", "id"))
    keys = {s.pk: s.key for s in steps}
    listed = []
    for step in steps:
        data = step_representation(step, keys)
        data.pop("id")
        if "template_id" in data["config"]:
            data["config"] = {"template_id": data["config"]["template_id"]}
        listed.append(data)
    return listed


def new_key(steps: list[dict], kind: str) -> str:
    taken = {s["key"] for s in steps}
    base = kind.replace("_", "-")
    number = 1
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def parse_place(place: str, steps: list[dict]) -> tuple[str | None, str]:
    """`place` is "start" or "<step key>:next|else": the step the new one follows and on which edge."""
    if place == START or not steps:
        return None, "next"
    key, _, edge = place.partition(":")
    if key not in {s["key"] for s in steps} or edge not in ("next", "else"):
        raise ValueError(f"unknown place {place!r}")
    return key, edge


def insert_step(steps: list[dict], new: dict, place: str) -> list[dict]:
    """A copy of `steps` with `new` placed: it takes over the edge it is put on and leads on to where
    that edge went."""
    anchor, edge = parse_place(place, steps)
    steps = [dict(s) for s in steps]
    if anchor is None:
        new["next"] = steps[0]["key"] if steps else None
        return [new, *steps]
    index = next(i for i, s in enumerate(steps) if s["key"] == anchor)
    new["next"] = steps[index].get(edge)
    steps[index][edge] = new["key"]
    return [*steps[: index + 1], new, *steps[index + 1 :]]


def replace_step(steps: list[dict], changed: dict) -> list[dict]:
    return [dict(changed) if s["key"] == changed["key"] else dict(s) for s in steps]


def delete_step(steps: list[dict], key: str) -> list[dict]:
    """Without the step `key`: edges that led to it lead to its next step."""
    gone = next((s for s in steps if s["key"] == key), None)
    if gone is None:
        return steps
    kept = []
    for step in steps:
        if step["key"] == key:
            continue
        step = dict(step)
        for edge in ("next", "else"):
            if step.get(edge) == key:
                step[edge] = gone.get("next") if gone.get("next") != step["key"] else None
        kept.append(step)
    return kept


def clean_edges(step: dict) -> dict:
    if step["kind"] not in BRANCHING_KINDS:
        step.pop("else", None)
    return step


def errors_by_step(errors: dict[str, list[str]], steps: list[dict]) -> tuple[dict, list[str]]:
    """Validation problems ({"steps[3].config.subject": [...]}) as {step key: {form field: [...]}}
    and the problems of no one step, in words: never a path."""
    by_step: dict[str, dict[str, list[str]]] = {}
    general: list[str] = []
    for path, messages in errors.items():
        match = STEP_ERROR.match(path)
        if not match or int(match.group(1)) >= len(steps):
            general.extend(messages)
            continue
        key = steps[int(match.group(1))]["key"]
        part, setting = match.group(2), match.group(3)
        name = part if part in ("next", "else") else CONFIG_FIELD.get(setting or "", "step")
        by_step.setdefault(key, {}).setdefault(name, []).extend(messages)
    return by_step, general


def in_flow_order(steps: list[dict]) -> list[dict]:
    """The steps in the order the flow shows them (the first stays first; along `next`, a branch's
    yes lane before its no lane; steps nothing reaches last), so the cards' numbers read down."""
    by_key = {s["key"]: s for s in steps}
    ordered: list[dict] = []
    seen: set[str] = set()
    pending = [s["key"] for s in reversed(steps)]  # popped in list order: the first step first
    stack: list[str] = []
    while stack or pending:
        key = stack.pop() if stack else pending.pop()
        if key in seen or key not in by_key:
            continue
        seen.add(key)
        ordered.append(by_key[key])
        for edge in ("else", "next"):  # pushed in reverse: next is walked first
            if by_key[key].get(edge):
                stack.append(by_key[key][edge])
    return ordered
