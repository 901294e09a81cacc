"""The journey settings form: name, entry (a segment picked by name, or a trigger with its typed
fields), suppression segment, consent and list. The trigger's config is built from the fields of
the chosen trigger kind; nobody types JSON."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from crm_core.models import ConsentLevel, Contact, InteractionKind, SubscriptionList

from .. import adapters, services
from ..models import EntryType, TriggerKind
from ..services.validation import TRIGGER_FIELDS

# The settings' problems, shown next to the field that sets them.
TRIGGER_FIELD_FOR_KIND = {
    TriggerKind.FORM_SUBMIT: "trigger_page",
    TriggerKind.INTERACTION: "trigger_interaction",
    TriggerKind.FIELD_CHANGED: "trigger_field",
    TriggerKind.LEAD_CREATED: "trigger_topic",
}


def _int_or_none(value) -> int | None:
    value = str(value or "").strip()
    return int(value) if value.isdigit() else None


def trigger_config_from_post(kind: str, post) -> tuple[dict, dict[str, list[str]]]:
    match kind:
        case TriggerKind.FORM_SUBMIT:
            config = {}
            page = _int_or_none(post.get("trigger_page"))
            if page is not None:
                config["page"] = page
            if post.get("trigger_form", "").strip():
                config["form"] = post["trigger_form"].strip()
            if not config:
                return {}, {"trigger_page": ["choose a landing page (or type its form key)"]}
            return config, {}
        case TriggerKind.INTERACTION:
            return {"kind": post.get("trigger_interaction", "")}, {}
        case TriggerKind.LEAD_CREATED:
            topic = post.get("trigger_topic", "").strip()
            return ({"topic": topic} if topic else {}), {}
        case TriggerKind.FIELD_CHANGED:
            name = post.get("trigger_field", "")
            if name not in TRIGGER_FIELDS:
                return {}, {"trigger_field": ["choose a contact field"]}
            try:
                value = Contact._meta.get_field(name).to_python(post.get("trigger_value", "").strip())
            except ValidationError as error:
                return {}, {"trigger_value": error.messages}
            return {"field": name, "value": value}, {}
    return {}, {}


def settings_from_post(post) -> tuple[dict, dict[str, list[str]]]:
    """The journey's settings from the form, and the problems of what was typed (empty when valid)."""
    entry_type = post.get("entry_type", EntryType.SEGMENT)
    trigger_kind = post.get("trigger_kind", "") if entry_type == EntryType.TRIGGER else ""
    trigger_config, errors = trigger_config_from_post(trigger_kind, post)
    list_id = _int_or_none(post.get("subscription_list"))
    data = {
        "name": post.get("name", "").strip()[:200],
        "description": post.get("description", ""),
        "entry_type": entry_type,
        "entry_segment_id": _int_or_none(post.get("entry_segment_id"))
        if entry_type == EntryType.SEGMENT
        else None,
        "trigger_kind": trigger_kind,
        "trigger_config": trigger_config,
        "suppression_segment_id": _int_or_none(post.get("suppression_segment_id")),
        "min_consent_level": _int_or_none(post.get("min_consent_level")) or 0,
        "subscription_list": SubscriptionList.objects.filter(pk=list_id).first() if list_id else None,
        "allow_reentry": post.get("allow_reentry") == "on",
        "exit_on_sales_ready": post.get("exit_on_sales_ready") == "on",
    }
    if entry_type not in EntryType.values:
        errors["entry_type"] = ["choose how contacts enter"]
    if not errors:
        for name, problems in services.validate_entry(data).items():
            if name == "entry_segment_id":
                errors[name] = ["choose the segment whose members enter"]
            elif name == "trigger_config":
                errors[TRIGGER_FIELD_FOR_KIND.get(trigger_kind, "trigger_kind")] = problems
            elif name == "trigger_kind":
                errors[name] = ["choose a trigger"]
            else:
                errors[name] = problems
    if not data["name"]:
        errors["name"] = ["a name is required"]
    if data["min_consent_level"] not in ConsentLevel.values:
        errors["min_consent_level"] = ["choose a consent level"]
    return data, errors


def settings_choices() -> dict:
    """The pickers' choices of the settings form."""
    return {
        "entry_types": EntryType.choices,
        "trigger_kinds": TriggerKind.choices,
        "consent_levels": ConsentLevel.choices,
        "interaction_kinds": InteractionKind.choices,
        "trigger_fields": [(name, Contact._meta.get_field(name).verbose_name) for name in TRIGGER_FIELDS],
        "lists": SubscriptionList.objects.order_by("name")[:200],
        "segment_choices": adapters.segment_choices(),
        "landing_page_choices": adapters.landing_page_choices(),
    }


def form_values(journey=None, post=None) -> dict:
    """The settings form's values as strings: what was posted (shown again with its problems), else
    the journey's (or a new journey's defaults)."""
    if post is not None:
        values = {name: post.get(name, "") for name in post}
        values["allow_reentry"] = post.get("allow_reentry") == "on"
        values["exit_on_sales_ready"] = post.get("exit_on_sales_ready") == "on"
        return values
    if journey is None:
        return {
            "entry_type": EntryType.SEGMENT,
            "min_consent_level": str(ConsentLevel.MARKETING),
            "exit_on_sales_ready": True,
        }
    config = journey.trigger_config or {}
    text = lambda value: "" if value is None else str(value)  # noqa: E731
    return {
        "name": journey.name,
        "description": journey.description,
        "entry_type": journey.entry_type,
        "entry_segment_id": text(journey.entry_segment_id),
        "trigger_kind": journey.trigger_kind,
        "trigger_page": text(config.get("page")) if str(config.get("page", "")).isdigit() else "",
        "trigger_form": config.get("form")
        or ("" if str(config.get("page", "")).isdigit() else text(config.get("page"))),
        "trigger_interaction": text(config.get("kind")),
        "trigger_topic": text(config.get("topic")),
        "trigger_field": text(config.get("field")),
        "trigger_value": text(config.get("value")),
        "suppression_segment_id": text(journey.suppression_segment_id),
        "min_consent_level": str(journey.min_consent_level),
        "subscription_list": text(journey.subscription_list_id),
        "allow_reentry": journey.allow_reentry,
        "exit_on_sales_ready": journey.exit_on_sales_ready,
    }
