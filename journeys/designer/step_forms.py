"""A step's side-panel form: the typed fields of each step kind, the config they build (then checked
by the journeys' own validation, `services.validate_steps`), and the fields' values read back from a
stored config. Nobody types JSON: the condition step's tree comes from the segment builder's
component, which fills one hidden field."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from crm_core.models import Contact, InteractionKind

from .. import adapters
from ..engine.steps.update_field import CONSENT_WITHDRAWALS, UPDATABLE_CONTACT_FIELDS
from ..engine.steps.wait import wait_seconds
from ..models import StepKind

UNITS = {"minutes": 60, "hours": 3600, "days": 86400}
# Where each config setting's problems are shown: the form field that sets it.
CONFIG_FIELD = {
    "template_id": "template",
    "subject": "subject",
    "html": "body",
    "text": "body",
    "": "wait_amount",
    "until": "until",
    "condition": "condition",
    "kind": "interaction_kind",
    "email_step": "email_step",
    "wait_up_to_seconds": "wait_amount",
    "percent": "percent",
    "topic": "topic",
    "field": "field",
    "value": "value",
    "list": "list",
    "segment": "segment",
    "title": "title",
    "description": "description",
    "due_in_days": "due_in_days",
}


@dataclass
class StepForm:
    """What the panel shows and posts for one step: its typed values, and problems per field."""

    kind: str
    values: dict = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    condition_problems: list[dict] = field(default_factory=list)

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


def _whole(
    form: StepForm, name: str, *, label: str, minimum: int = 0, maximum: int | None = None
) -> int | None:
    raw = str(form.values.get(name, "")).strip()
    if not raw.lstrip("-").isdigit():
        form.error(name, f"enter {label} as a whole number")
        return None
    number = int(raw)
    if number < minimum or (maximum is not None and number > maximum):
        upper = f" to {maximum}" if maximum is not None else " or more"
        form.error(name, f"{label} must be {minimum}{upper}")
        return None
    return number


def _duration(form: StepForm, *, minimum: int) -> int | None:
    amount = _whole(form, "wait_amount", label="the time", minimum=minimum)
    unit = form.values.get("wait_unit")
    if unit not in UNITS:
        form.error("wait_unit", "choose minutes, hours or days")
        return None
    return None if amount is None else amount * UNITS[unit]


def _picked_id(form: StepForm, name: str, message: str) -> int | None:
    raw = str(form.values.get(name, "")).strip()
    if not raw.isdigit():
        form.error(name, message)
        return None
    return int(raw)


def _condition(form: StepForm) -> dict | None:
    try:
        definition = json.loads(form.values.get("condition") or "null")
    except json.JSONDecodeError:
        definition = None
    if not isinstance(definition, dict):
        form.error("condition", "add at least one condition")
        return None
    problems = adapters.validate_contact_condition(definition)
    if problems:
        form.condition_problems = problems
        form.error("condition", "fix the condition rows marked below")
    return definition


def _email_config(form: StepForm) -> dict:
    if form.values.get("email_source", "template") == "template":
        template = _picked_id(form, "template", "choose an email template")
        return {} if template is None else {"template_id": template}
    body = str(form.values.get("body", ""))
    if not body.strip():
        form.error("body", "write the message")
    paragraphs = [p.strip() for p in body.replace("\r\n", "\n").split("\n\n") if p.strip()]
    markup = "".join(f"<p>{html.escape(p, quote=False).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return {"subject": str(form.values.get("subject", "")).strip(), "html": markup, "text": body.strip()}


def _update_field_config(form: StepForm) -> dict:
    name = form.values.get("field")
    if name not in UPDATABLE_CONTACT_FIELDS:
        form.error("field", "choose a field")
        return {}
    if name in CONSENT_WITHDRAWALS:  # a journey may only withdraw consent: the value is fixed
        return {"field": name, "value": CONSENT_WITHDRAWALS[name]}
    model_field = Contact._meta.get_field(name)
    value = form.values.get(f"value_{name}") if model_field.choices else form.values.get("value", "")
    return {"field": name, "value": (value or "").strip()}


def config_from_form(form: StepForm) -> dict:
    """The step's config built from the typed values; problems of the typing go to `form.errors`
    (the config's own rules are checked after, by `validate_steps`)."""
    match form.kind:
        case StepKind.SEND_EMAIL:
            return _email_config(form)
        case StepKind.WAIT_DURATION:
            seconds = _duration(form, minimum=1)
            return {} if seconds is None else {"seconds": seconds}
        case StepKind.WAIT_UNTIL:
            until = parse_datetime(str(form.values.get("until", "")))
            if until is None:
                form.error("until", "choose a date and time")
                return {}
            if timezone.is_naive(until):
                until = timezone.make_aware(until)
            return {"until": until.isoformat()}
        case StepKind.IF_CONDITION:
            definition = _condition(form)
            return {} if definition is None else {"condition": definition}
        case StepKind.IF_INTERACTION:
            config = {"kind": form.values.get("interaction_kind") or InteractionKind.EMAIL_OPEN}
            if form.values.get("email_step"):
                config["email_step"] = form.values["email_step"]
            seconds = _duration(form, minimum=0)
            if seconds is not None:
                config["wait_up_to_seconds"] = seconds
            return config
        case StepKind.SPLIT:
            percent = _whole(form, "percent", label="the share for A", maximum=100)
            return {} if percent is None else {"percent": percent}
        case StepKind.CREATE_LEAD:
            return {"topic": str(form.values.get("topic", "")).strip()}
        case StepKind.UPDATE_FIELD:
            return _update_field_config(form)
        case StepKind.LIST_ADD | StepKind.LIST_REMOVE:
            picked = _picked_id(form, "list", "choose a subscription list")
            return {} if picked is None else {"list": picked}
        case StepKind.SEGMENT_ADD | StepKind.SEGMENT_REMOVE:
            picked = _picked_id(form, "segment", "choose a static segment")
            return {} if picked is None else {"segment": picked}
        case StepKind.CREATE_TASK:
            config = {"title": str(form.values.get("title", "")).strip()}
            if str(form.values.get("description", "")).strip():
                config["description"] = form.values["description"].strip()
            if str(form.values.get("due_in_days", "")).strip():
                due = _whole(form, "due_in_days", label="the days until due")
                if due is not None:
                    config["due_in_days"] = due
            return config
    return {}


def _as_amount(seconds: int) -> tuple[int, str]:
    for unit in ("days", "hours", "minutes"):
        if seconds and seconds % UNITS[unit] == 0:
            return seconds // UNITS[unit], unit
    return max(seconds // 60, 0), "minutes"


def values_from_config(kind: str, config: dict) -> dict:
    """The panel's field values for a stored step config."""
    values: dict = {}
    match kind:
        case StepKind.SEND_EMAIL:
            if "template_id" in config:
                values.update(email_source="template", template=str(config["template_id"]))
            else:
                body = config.get("text") or config.get("html", "")
                values.update(email_source="own", subject=config.get("subject", ""), body=body)
        case StepKind.WAIT_DURATION:
            amount, unit = _as_amount(wait_seconds(config))
            values.update(wait_amount=amount, wait_unit=unit)
        case StepKind.WAIT_UNTIL:
            until = parse_datetime(str(config.get("until", "")))
            values["until"] = timezone.localtime(until).strftime("%Y-%m-%dT%H:%M") if until else ""
        case StepKind.IF_CONDITION:
            values["condition"] = json.dumps(config.get("condition") or {})
        case StepKind.IF_INTERACTION:
            amount, unit = _as_amount(int(config.get("wait_up_to_seconds") or 0))
            values.update(
                interaction_kind=config.get("kind", InteractionKind.EMAIL_OPEN),
                email_step=config.get("email_step", ""),
                wait_amount=amount,
                wait_unit=unit if amount else "days",
            )
        case StepKind.UPDATE_FIELD:
            name = config.get("field", "")
            values.update(
                field=name, value=config.get("value", ""), **{f"value_{name}": config.get("value", "")}
            )
        case StepKind.LIST_ADD | StepKind.LIST_REMOVE:
            values["list"] = str(config.get("list", ""))
        case StepKind.SEGMENT_ADD | StepKind.SEGMENT_REMOVE:
            values["segment"] = str(config.get("segment", ""))
        case _:
            values.update({k: v for k, v in config.items() if not isinstance(v, dict | list)})
    return values


DEFAULTS = {
    StepKind.SEND_EMAIL: {"email_source": "template"},
    StepKind.WAIT_DURATION: {"wait_amount": 1, "wait_unit": "days"},
    StepKind.IF_INTERACTION: {
        "interaction_kind": InteractionKind.EMAIL_OPEN,
        "wait_amount": 3,
        "wait_unit": "days",
    },
    StepKind.SPLIT: {"percent": 50},
    StepKind.CREATE_TASK: {"due_in_days": 2},
    StepKind.IF_CONDITION: {"condition": ""},
}


def posted_values(post) -> dict:
    """The panel's posted fields (strings), to build the config from and to show again on errors."""
    return {name: post.get(name, "") for name in post if name not in ("csrfmiddlewaretoken", "action")}
