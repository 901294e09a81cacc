"""The ONE seam between journeys and modules built in parallel branches.

Every call journeys makes into segments (issue 5), crm_core/consent.py and crm_core/tokens.py
(issue 7) and landing (issue 7) goes through a function here. Each has a small working
implementation against crm_core models (and, for segment membership, the stand-in table
`journeys.SegmentMemberStandIn`) so journeys runs and is tested today. At merge, re-point the body
of each function at the real module; the signatures are what the engine relies on:

| function | re-point at |
|---|---|
| segment_member_ids / segment_joins_since / static_segment_add / _remove | segments membership table |
| validate_contact_condition / compile_contact_condition | segments.compiler (root="contact") |
| marketing_email_block_reason(s) | crm_core.consent |
| subscription_center_url | crm_core.tokens + the /preferences/<token>/ route |
| form_submit_interactions | the properties landing records on form_submit interactions |
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from crm_core import consent
from crm_core.models import Contact, Interaction, InteractionKind, Lead

from .models import SegmentMemberStandIn

# --- Segments ------------------------------------------------------------------------------


def segment_member_ids(segment_id: int) -> QuerySet:
    """Current members of a segment, as a queryset of contact ids (usable in `id__in`)."""
    return SegmentMemberStandIn.objects.filter(segment_id=segment_id).values_list("contact_id", flat=True)


def segment_joins_since(segment_id: int, since: datetime | None) -> QuerySet:
    """Members who joined at or after `since` (all members when None): rows of contact_id, joined_at."""
    members = SegmentMemberStandIn.objects.filter(segment_id=segment_id)
    if since is not None:
        members = members.filter(added_at__gte=since)
    return members.annotate(joined_at=F("added_at")).values("contact_id", "joined_at")


def static_segment_add(*, segment_id: int, contact_ids: Iterable[int], now: datetime) -> None:
    SegmentMemberStandIn.objects.bulk_create(
        [SegmentMemberStandIn(segment_id=segment_id, contact_id=cid, added_at=now) for cid in contact_ids],
        ignore_conflicts=True,
    )


def static_segment_remove(*, segment_id: int, contact_ids: Iterable[int]) -> None:
    SegmentMemberStandIn.objects.filter(segment_id=segment_id, contact_id__in=list(contact_ids)).delete()


# --- Condition trees (segment tree format, subset) ------------------------------------------

_TEXT = "text"
_NUMBER = "number"
_BOOL = "boolean"
_DATE = "datetime"
CONDITION_FIELDS: dict[str, dict[str, str]] = {
    "contact": {
        "first_name": _TEXT,
        "last_name": _TEXT,
        "email": _TEXT,
        "job_title": _TEXT,
        "job_role": _TEXT,
        "country": _TEXT,
        "city": _TEXT,
        "marketing_only": _BOOL,
        "do_not_bulk_email": _BOOL,
        "do_not_email": _BOOL,
        "consent_level": _NUMBER,
        "is_minor": _BOOL,
        "created_at": _DATE,
    },
    "lead": {
        "topic": _TEXT,
        "status": _TEXT,
        "source": _TEXT,
        "score": _NUMBER,
        "sales_ready": _BOOL,
        "company_name": _TEXT,
        "created_at": _DATE,
    },
}
_OPS = {
    _TEXT: {"eq", "neq", "contains", "in", "not_in", "is_empty", "is_not_empty"},
    _NUMBER: {"eq", "neq", "gt", "gte", "lt", "lte", "in", "is_empty", "is_not_empty"},
    _BOOL: {"eq"},
    _DATE: {"before", "after", "is_empty", "is_not_empty"},
}
_RELATED = {"contact": {"leads": ("lead", Lead, "parent_contact")}}
MAX_DEPTH = 8


def validate_contact_condition(definition) -> list[dict]:
    """Problems of a condition tree rooted at contact, each {"path", "message"}; empty if valid."""
    errors: list[dict] = []
    _validate(definition, "contact", "", errors, 0)
    return errors


def _validate(node, entity: str, path: str, errors: list[dict], depth: int) -> None:
    def err(where: str, message: str) -> None:
        errors.append({"path": f"{path}{where}".lstrip(".") or "$", "message": message})

    if not isinstance(node, dict):
        err("", "a condition node must be an object")
        return
    if depth > MAX_DEPTH:
        err("", f"nesting deeper than {MAX_DEPTH}")
        return
    allowed = {"negate", "entity"}
    if "field" in node:
        allowed |= {"field", "op", "value"}
        field, op = node.get("field"), node.get("op")
        kind = CONDITION_FIELDS[entity].get(field) if isinstance(field, str) else None
        if kind is None:
            err(".field", f"unknown field {field!r} on {entity}")
        elif op not in _OPS[kind]:
            err(".op", f"operator {op!r} is not allowed on {kind} field {field!r}")
        elif op in ("in", "not_in") and not isinstance(node.get("value"), list):
            err(".value", f"{op!r} needs a list")
        elif kind == _BOOL and not isinstance(node.get("value"), bool):
            err(".value", "needs true or false")
        elif (
            kind == _NUMBER
            and op not in ("in", "is_empty", "is_not_empty")
            and (isinstance(node.get("value"), bool) or not isinstance(node.get("value"), int | float))
        ):
            err(".value", "needs a number")
    elif "related" in node:
        allowed |= {"related", "quantifier", "match", "conditions"}
        rel = _RELATED.get(entity, {}).get(node["related"])
        if rel is None:
            err(".related", f"unknown relationship {node['related']!r} of {entity}")
            return
        if node.get("quantifier", "exists") not in ("exists", "not_exists"):
            err(".quantifier", "quantifier must be exists or not_exists")
        _validate_group(node, rel[0], path, errors, depth, err)
    else:
        allowed |= {"match", "conditions"}
        _validate_group(node, entity, path, errors, depth, err)
    for key in set(node) - allowed:
        err(f".{key}", f"unknown key {key!r}")


def _validate_group(node, entity, path, errors, depth, err) -> None:
    if node.get("match", "all") not in ("all", "any"):
        err(".match", "match must be all or any")
    conditions = node.get("conditions", [])
    if not isinstance(conditions, list):
        err(".conditions", "conditions must be a list")
        return
    for index, child in enumerate(conditions):
        _validate(child, entity, f"{path}.conditions[{index}]", errors, depth + 1)


def compile_contact_condition(definition) -> Q:
    """A validated condition tree as a Q over Contact."""
    return _compile(definition, "contact")


def _compile(node: dict, entity: str) -> Q:
    if "field" in node:
        q = _field_q(node, entity)
    elif "related" in node:
        target, model, fk = _RELATED[entity][node["related"]]
        inner = model.objects.filter(**{fk: OuterRef("pk")}).filter(_group_q(node, target))
        q = Q(Exists(inner)) if node.get("quantifier", "exists") == "exists" else ~Q(Exists(inner))
    else:
        q = _group_q(node, entity)
    return ~q if node.get("negate") else q


def _group_q(node: dict, entity: str) -> Q:
    parts = [_compile(child, entity) for child in node.get("conditions", [])]
    if not parts:
        return Q()
    result = parts[0]
    for part in parts[1:]:
        result = (result & part) if node.get("match", "all") == "all" else (result | part)
    return result


def _field_q(node: dict, entity: str) -> Q:
    field, op, value = node["field"], node["op"], node.get("value")
    text = CONDITION_FIELDS[entity][field] == _TEXT
    empty = (Q(**{f"{field}__isnull": True}) | Q(**{field: ""})) if text else Q(**{f"{field}__isnull": True})
    match op:
        case "eq":
            return Q(**{f"{field}__iexact" if text else field: value})
        case "neq":
            return ~Q(**{f"{field}__iexact" if text else field: value}) | empty
        case "contains":
            return Q(**{f"{field}__icontains": value})
        case "in":
            return Q(**{f"{field}__in": value})
        case "not_in":
            return ~Q(**{f"{field}__in": value}) | empty
        case "gt" | "gte" | "lt" | "lte":
            return Q(**{f"{field}__{op}": value})
        case "before":
            return Q(**{f"{field}__lt": value})
        case "after":
            return Q(**{f"{field}__gt": value})
        case "is_empty":
            return empty
        case "is_not_empty":
            return ~empty
    raise ValueError(f"unsupported operator {op!r}")


# --- Consent ----------------------------------------------------------------------------------

BLOCK_NO_EMAIL = consent.NO_EMAIL
BLOCK_DO_NOT_EMAIL = consent.DO_NOT_EMAIL
BLOCK_DO_NOT_BULK_EMAIL = consent.DO_NOT_BULK_EMAIL
BLOCK_UNSUBSCRIBED = consent.UNSUBSCRIBED_FROM_LIST
BLOCK_MINOR = consent.MINOR_WITHOUT_GUARDIAN_CONSENT
BLOCK_CONSENT_LEVEL = consent.CONSENT_TOO_LOW


def marketing_email_block_reasons(
    contact_ids: Iterable[int], *, min_consent_level: int, subscription_list_id: int | None = None
) -> dict[int, str]:
    """For a batch of contacts, {contact_id: reason} for those who may not get marketing email
    (one query). Contacts that may receive it are absent."""
    return consent.marketing_email_block_reasons(
        contact_ids, minimum_level=min_consent_level, subscription_list=subscription_list_id
    )


def marketing_email_block_reason(
    contact: Contact, *, min_consent_level: int, subscription_list_id: int | None = None
) -> str | None:
    """Why this contact may not receive marketing email, or None if they may."""
    reasons = marketing_email_block_reasons(
        [contact.pk], min_consent_level=min_consent_level, subscription_list_id=subscription_list_id
    )
    return reasons.get(contact.pk)


# --- Tokens and the subscription center -------------------------------------------------------


def subscription_center_url(contact: Contact) -> str:
    """Absolute URL of the contact's subscription center (the unsubscribe link of every email)."""
    from landing.services import preferences_url

    return preferences_url(contact=contact)


# --- Landing-page form submissions ------------------------------------------------------------


def form_submit_interactions(page) -> QuerySet:
    """form_submit interactions recorded on a landing page (by slug or id, as landing records it)."""
    page_q = Q(properties__page=page) | Q(properties__page_slug=page) | Q(properties__landing_page=page)
    return Interaction.objects.filter(kind=InteractionKind.FORM_SUBMIT).filter(page_q)
