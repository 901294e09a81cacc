"""The journey as a vertical flow of cards: from the first step along `next`; a branching step
(if/then, if-interaction, split) forks into two lanes side by side (yes/no, A/B), each its own
chain. A step reached a second time is shown as "continues at step N"; steps nothing leads to are
listed apart. Each card carries its summary, its stats and the places a new step may go."""

from __future__ import annotations

from crm_core.models import SubscriptionList

from .. import adapters
from ..models import BRANCHING_KINDS, EmailTemplate, StepKind
from .summaries import Names, step_summary

LANE_LABELS = {
    StepKind.SPLIT: ("A", "B"),
    StepKind.IF_CONDITION: ("Yes", "No"),
    StepKind.IF_INTERACTION: ("Yes", "No"),
}


def names_for(steps: list[dict]) -> Names:
    """The names the summaries need, in three small queries."""
    template_ids = {s["config"].get("template_id") for s in steps if s["kind"] == StepKind.SEND_EMAIL}
    return Names(
        templates=dict(EmailTemplate.objects.filter(pk__in=template_ids - {None}).values_list("pk", "name")),
        lists=dict(SubscriptionList.objects.values_list("pk", "name")[:500]),
        segments=adapters.segment_names(),
        step_numbers={s["key"]: number for number, s in enumerate(steps, 1)},
    )


def cards_for(steps: list[dict], stats: dict | None, errors: dict[str, dict]) -> dict[str, dict]:
    """{key: card} with number, kind label, summary, stats and problems of each step."""
    names = names_for(steps)
    per_step = {row["key"]: row for row in (stats or {}).get("steps", [])}
    cards = {}
    for number, step in enumerate(steps, 1):
        cards[step["key"]] = {
            **step,
            "number": number,
            "label": StepKind(step["kind"]).label if step["kind"] in StepKind.values else step["kind"],
            "summary": step_summary(step, names),
            "branching": step["kind"] in BRANCHING_KINDS,
            "lanes": LANE_LABELS.get(step["kind"], ("", "")),
            "stats": per_step.get(step["key"]),
            "errors": errors.get(step["key"], {}),
            "place_next": f"{step['key']}:next",
        }
    return cards


def _chain(key: str | None, cards: dict[str, dict], seen: set[str]) -> list[dict]:
    items = []
    while key:
        card = cards.get(key)
        if card is None:
            break
        if key in seen:
            items.append({"goto": card})
            break
        seen.add(key)
        if card["branching"]:
            lanes = [
                {
                    "label": card["lanes"][index],
                    "edge": edge,
                    "place": f"{key}:{edge}",
                    "items": _chain(card.get(edge), cards, seen),
                }
                for index, edge in enumerate(("next", "else"))
            ]
            items.append({"card": card, "lanes": lanes})
            break
        items.append({"card": card})
        key = card.get("next")
    return items


def flow(steps: list[dict], cards: dict[str, dict]) -> tuple[list[dict], list[list[dict]]]:
    """The main chain from the first step, and the chains of the steps it never reaches."""
    seen: set[str] = set()
    main = _chain(steps[0]["key"], cards, seen) if steps else []
    detached = []
    for step in steps:
        if step["key"] not in seen:
            detached.append(_chain(step["key"], cards, seen))
    return main, detached


def places(steps: list[dict], cards: dict[str, dict]) -> list[tuple[str, str]]:
    """Where a new step may go, in words: (place, label) for the palette's picker."""
    options = [("start", "At the start")]
    for step in steps:
        card = cards[step["key"]]
        if card["branching"]:
            for edge, lane in zip(("next", "else"), card["lanes"], strict=True):
                options.append(
                    (f"{step['key']}:{edge}", f"Step {card['number']} ({card['summary']}): lane {lane}")
                )
        elif step["kind"] != StepKind.END:
            options.append((f"{step['key']}:next", f"After step {card['number']} ({card['summary']})"))
    return options
