"""Validation of journey definitions: a step list (each kind's settings) and the entry and exit
settings. Each returns its problems as {"path": [messages]}, empty when valid; the API serializer and
the designer pages show them next to the fields."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime

from crm_core.jsontext import unstorable_text_problems
from crm_core.models import Contact, InteractionKind, SubscriptionList

from .. import adapters
from ..email_templates import validate_email_config
from ..engine.steps.update_field import CONSENT_WITHDRAWALS, UPDATABLE_CONTACT_FIELDS
from ..engine.steps.wait import wait_seconds
from ..models import BRANCHING_KINDS, EmailTemplate, EntryType, StepKind, TriggerKind

_STEP_KEYS = {"key", "kind", "config", "next", "else"}
_CONFIG_KEYS = {
    StepKind.SEND_EMAIL: {"subject", "html", "text", "template_id"},
    StepKind.WAIT_DURATION: {"seconds", "minutes", "hours", "days"},
    StepKind.WAIT_UNTIL: {"until"},
    StepKind.IF_CONDITION: {"condition"},
    StepKind.IF_INTERACTION: {"kind", "email_step", "wait_up_to_seconds"},
    StepKind.SPLIT: {"percent"},
    StepKind.CREATE_LEAD: {"topic"},
    StepKind.UPDATE_FIELD: {"field", "value"},
    StepKind.LIST_ADD: {"list"},
    StepKind.LIST_REMOVE: {"list"},
    StepKind.SEGMENT_ADD: {"segment"},
    StepKind.SEGMENT_REMOVE: {"segment"},
    StepKind.CREATE_TASK: {"title", "description", "due_in_days"},
    StepKind.END: set(),
}
TRIGGER_FIELDS = ("job_role", "job_title", "country", "city", "consent_level", "marketing_only")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_steps(steps) -> dict[str, list[str]]:
    """Problems of a step list as {"steps[i].field": [messages]}; empty when valid."""
    errors: dict[str, list[str]] = {}

    def err(where: str, message: str) -> None:
        errors.setdefault(where, []).append(message)

    if not isinstance(steps, list):
        return {"steps": ["must be a list of steps"]}
    if len(steps) > 200:
        return {"steps": ["at most 200 steps"]}
    unstorable = unstorable_text_problems(steps, "steps")
    if unstorable:  # a NUL in an email's HTML, say: PostgreSQL could not store the definition
        return {path: [message] for path, message in unstorable}
    keys: dict[str, str] = {}
    for index, step in enumerate(steps):
        if not isinstance(step, dict):
            err(f"steps[{index}]", "a step must be an object")
            continue
        key = step.get("key")
        if (
            not isinstance(key, str)
            or not key
            or len(key) > 64
            or not key.replace("-", "").replace("_", "").isalnum()
        ):
            err(f"steps[{index}].key", "a key of letters, digits, - and _ (up to 64) is required")
        elif key in keys:
            err(f"steps[{index}].key", f"duplicate key {key!r}")
        else:
            keys[key] = step.get("kind")
    for index, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        where = f"steps[{index}]"
        for extra in set(step) - _STEP_KEYS:
            err(f"{where}.{extra}", f"unknown key {extra!r}")
        kind = step.get("kind")
        if kind not in StepKind.values:
            err(f"{where}.kind", f"unknown step kind {kind!r}; one of {', '.join(StepKind.values)}")
            continue
        for edge in ("next", "else"):
            target = step.get(edge)
            if target is not None and target not in keys:
                err(f"{where}.{edge}", f"no step with key {target!r}")
        if step.get("else") is not None and kind not in BRANCHING_KINDS:
            err(f"{where}.else", "only if/then and split steps have an else branch")
        config = step.get("config", {})
        if not isinstance(config, dict):
            err(f"{where}.config", "must be an object")
            continue
        for extra in set(config) - _CONFIG_KEYS[kind]:
            err(f"{where}.config.{extra}", f"unknown setting {extra!r} for {kind}")
        for field, message in _config_problems(kind, config, keys).items():
            err(f"{where}.config.{field}" if field else f"{where}.config", message)
    return errors


def _config_problems(kind: str, config: dict, keys: dict[str, str]) -> dict[str, str]:
    match kind:
        case StepKind.SEND_EMAIL:
            if "template_id" in config:
                return _template_choice_problems(config["template_id"])
            return validate_email_config(config)
        case StepKind.WAIT_DURATION:
            values = [config.get(k, 0) for k in ("seconds", "minutes", "hours", "days")]
            if not all(_is_int(v) and v >= 0 for v in values) or wait_seconds(config) <= 0:
                return {"": "a positive whole duration in seconds, minutes, hours and/or days is required"}
        case StepKind.WAIT_UNTIL:
            value = config.get("until")
            if not isinstance(value, str) or parse_datetime(value) is None:
                return {"until": "an ISO date-time is required"}
        case StepKind.IF_CONDITION:
            problems = adapters.validate_contact_condition(config.get("condition"))
            if problems:
                return {"condition": "; ".join(f"{p['path']}: {p['message']}" for p in problems)}
        case StepKind.IF_INTERACTION:
            if config.get("kind", InteractionKind.EMAIL_OPEN) not in InteractionKind.values:
                return {"kind": f"one of {', '.join(InteractionKind.values)}"}
            email_step = config.get("email_step")
            if email_step is not None and keys.get(email_step) != StepKind.SEND_EMAIL:
                return {"email_step": f"no send-email step with key {email_step!r}"}
            wait = config.get("wait_up_to_seconds", 0)
            if not _is_int(wait) or wait < 0:
                return {"wait_up_to_seconds": "a whole number of seconds >= 0"}
        case StepKind.SPLIT:
            percent = config.get("percent")
            if not _is_int(percent) or not 0 <= percent <= 100:
                return {"percent": "a whole number from 0 to 100 (the share taking the next branch)"}
        case StepKind.CREATE_LEAD:
            topic = config.get("topic")
            if not isinstance(topic, str) or not topic.strip() or len(topic) > 200:
                return {"topic": "a topic of up to 200 characters is required"}
        case StepKind.UPDATE_FIELD:
            field = config.get("field")
            if field not in UPDATABLE_CONTACT_FIELDS:
                return {"field": f"one of {', '.join(UPDATABLE_CONTACT_FIELDS)}"}
            return _update_field_value_problems(field, config.get("value"))
        case StepKind.LIST_ADD | StepKind.LIST_REMOVE:
            list_id = config.get("list")
            if not _is_int(list_id) or not SubscriptionList.objects.filter(pk=list_id).exists():
                return {"list": f"no subscription list {list_id!r}"}
        case StepKind.SEGMENT_ADD | StepKind.SEGMENT_REMOVE:
            if not _is_int(config.get("segment")):
                return {"segment": "a segment id is required"}
            if not adapters.static_segment_exists(config["segment"]):
                return {"segment": f"there is no static segment {config['segment']}"}
        case StepKind.CREATE_TASK:
            title = config.get("title")
            if not isinstance(title, str) or not title.strip() or len(title) > 200:
                return {"title": "a title of up to 200 characters is required"}
            due = config.get("due_in_days")
            if due is not None and (not _is_int(due) or due < 0):
                return {"due_in_days": "a whole number of days >= 0"}
    return {}


def _template_choice_problems(template_id) -> dict[str, str]:
    """A send-email step may name a saved email template instead of its own subject and HTML: the
    template's content is copied into the step when the journey is saved (`definitions`)."""
    if not _is_int(template_id) or not EmailTemplate.objects.filter(pk=template_id).exists():
        return {"template_id": f"no email template {template_id!r}"}
    return {}


def _update_field_value_problems(field: str, value) -> dict[str, str]:
    try:
        value = Contact._meta.get_field(field).clean(value, None)
    except ValidationError as error:
        return {"value": "; ".join(error.messages)}
    withdrawn = CONSENT_WITHDRAWALS.get(field)
    if withdrawn is not None and value != withdrawn:
        allowed = json.dumps(withdrawn)
        return {"value": f"a journey may only withdraw consent: {field} can only be set to {allowed}"}
    return {}


def _form_trigger_problems(config: dict) -> dict[str, list[str]]:
    """A form_submit trigger names a landing page (its id, or slug) and/or a form (a page's slug)."""
    page, form = config.get("page"), config.get("form")
    if page in (None, "") and not form:
        return {
            "trigger_config": ["a form_submit trigger needs {'page': <landing page id>} or {'form': <slug>}"]
        }
    if page not in (None, "") and adapters.landing_page_id(page) is None:
        return {"trigger_config": [f"no landing page with id or slug {page!r}"]}
    if form is not None and not isinstance(form, str):
        return {"trigger_config": ["'form' must be a landing page's slug"]}
    return {}


def validate_entry(data: dict) -> dict[str, list[str]]:
    """Problems of a journey's entry and exit settings."""
    errors: dict[str, list[str]] = {
        path: [message]
        for name in ("trigger_config", "exit_condition", "name", "description")
        for path, message in unstorable_text_problems(data.get(name), name)
    }
    if errors:
        return errors
    entry_type = data.get("entry_type", EntryType.SEGMENT)
    if entry_type == EntryType.SEGMENT:
        if not _is_int(data.get("entry_segment_id")):
            errors["entry_segment_id"] = ["a segment journey needs its entry segment"]
    else:
        kind, config = data.get("trigger_kind"), data.get("trigger_config") or {}
        if kind not in TriggerKind.values:
            errors["trigger_kind"] = [f"one of {', '.join(TriggerKind.values)}"]
        elif not isinstance(config, dict):
            errors["trigger_config"] = ["must be an object"]
        elif kind == TriggerKind.FORM_SUBMIT:
            errors.update(_form_trigger_problems(config))
        elif kind == TriggerKind.INTERACTION and config.get("kind") not in InteractionKind.values:
            errors["trigger_config"] = [f"'kind' must be one of {', '.join(InteractionKind.values)}"]
        elif kind == TriggerKind.FIELD_CHANGED and config.get("field") not in TRIGGER_FIELDS:
            errors["trigger_config"] = [f"'field' must be one of {', '.join(TRIGGER_FIELDS)}"]
    if data.get("exit_condition"):
        problems = adapters.validate_contact_condition(data["exit_condition"])
        if problems:
            errors["exit_condition"] = [f"{p['path']}: {p['message']}" for p in problems]
    return errors
