"""Each step in words for its card and for the pickers ("Send ‘Welcome’ (template)", "Wait 3 days",
"If job role is “Decision maker”"): no keys, no JSON."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.dateparse import parse_datetime

from crm_core.models import InteractionKind

from .. import adapters
from ..engine.steps.wait import wait_seconds
from ..models import StepKind, TriggerKind

INTERACTION_WORDS = {
    InteractionKind.EMAIL_OPEN: "opened",
    InteractionKind.EMAIL_CLICK: "clicked",
}


@dataclass
class Names:
    """The names summaries read: email templates, lists and segments by id, steps by key."""

    templates: dict[int, str] = field(default_factory=dict)
    lists: dict[int, str] = field(default_factory=dict)
    segments: dict[int, str] = field(default_factory=dict)
    step_numbers: dict[str, int] = field(default_factory=dict)


def duration_words(seconds: int) -> str:
    """3 days, 2 hours, 45 minutes (largest whole units)."""
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return ", ".join(parts) or "0 minutes"


def _name(names: dict, key, what: str) -> str:
    return f"‘{names[key]}’" if key in names else f"{what} (missing)"


def step_summary(step: dict, names: Names) -> str:
    """One line in words for a step dict {kind, config, ...}."""
    kind, config = step["kind"], step.get("config") or {}
    match kind:
        case StepKind.SEND_EMAIL:
            if "template_id" in config:
                return f"Send {_name(names.templates, config['template_id'], 'an email template')} (template)"
            return f"Send ‘{config.get('subject', '')}’"
        case StepKind.WAIT_DURATION:
            return f"Wait {duration_words(wait_seconds(config))}"
        case StepKind.WAIT_UNTIL:
            until = parse_datetime(str(config.get("until", "")))
            return f"Wait until {until:%Y-%m-%d %H:%M}" if until else "Wait until a date"
        case StepKind.IF_CONDITION:
            return f"If {adapters.describe_contact_condition(config.get('condition'))}"
        case StepKind.IF_INTERACTION:
            return _interaction_summary(config, names)
        case StepKind.SPLIT:
            percent = config.get("percent", 50)
            return f"Split {percent}% (A) / {100 - percent}% (B)"
        case StepKind.CREATE_LEAD:
            return f"Create a lead ‘{config.get('topic', '')}’"
        case StepKind.UPDATE_FIELD:
            value = config.get("value")
            shown = "yes" if value is True else "no" if value is False else f"‘{value}’"
            return f"Set {str(config.get('field', '')).replace('_', ' ')} to {shown}"
        case StepKind.LIST_ADD | StepKind.LIST_REMOVE:
            verb = "Add to" if kind == StepKind.LIST_ADD else "Remove from"
            return f"{verb} list {_name(names.lists, config.get('list'), 'a list')}"
        case StepKind.SEGMENT_ADD | StepKind.SEGMENT_REMOVE:
            verb = "Add to" if kind == StepKind.SEGMENT_ADD else "Remove from"
            return f"{verb} segment {_name(names.segments, config.get('segment'), 'a segment')}"
        case StepKind.CREATE_TASK:
            due = config.get("due_in_days")
            when = f", due in {due} day{'' if due == 1 else 's'}" if due is not None else ""
            return f"Create task ‘{config.get('title', '')}’{when}"
        case StepKind.END:
            return "End the journey"
    return StepKind(kind).label if kind in StepKind.values else str(kind)


def _interaction_summary(config: dict, names: Names) -> str:
    kind = config.get("kind", InteractionKind.EMAIL_OPEN)
    email_step = config.get("email_step")
    wait = int(config.get("wait_up_to_seconds") or 0)
    within = f" within {duration_words(wait)}" if wait else ""
    if email_step and kind in INTERACTION_WORDS:
        number = names.step_numbers.get(email_step)
        which = f"the email of step {number}" if number else "an email of this journey"
        return f"If they {INTERACTION_WORDS[kind]} {which}{within}"
    label = InteractionKind(kind).label.lower() if kind in InteractionKind.values else kind
    return f"If {label} since entry{within}"


def trigger_summary(kind: str, config: dict, pages: dict[int, str]) -> str:
    """A trigger and its settings in words ("Form submitted on ‘Spring webinar (/l/spring/)’")."""
    config = config or {}
    match kind:
        case TriggerKind.FORM_SUBMIT:
            page = config.get("page")
            where = (
                _name(pages, int(page), "a landing page")
                if str(page or "").isdigit()
                else (f"‘{page}’" if page else "any page")
            )
            form = f", form ‘{config['form']}’" if config.get("form") else ""
            return f"A form submitted on {where}{form}"
        case TriggerKind.INTERACTION:
            kind_value = config.get("kind")
            label = InteractionKind(kind_value).label if kind_value in InteractionKind.values else kind_value
            return f"An interaction: {str(label or 'any').lower()}"
        case TriggerKind.LEAD_CREATED:
            topic = config.get("topic")
            return f"A lead created with topic ‘{topic}’" if topic else "A lead created (any topic)"
        case TriggerKind.FIELD_CHANGED:
            value = config.get("value")
            shown = "yes" if value is True else "no" if value is False else f"‘{value}’"
            return f"The contact's {str(config.get('field', '')).replace('_', ' ')} changed to {shown}"
    return "No trigger"
