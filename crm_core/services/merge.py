"""Merge two contacts into one, in one transaction (API: POST /api/contacts/<survivor>/merge/).

Rules:
- **Fields**: the survivor keeps each value it has; an empty field (blank text, no value) takes the
  other's (`FILLED_FIELDS`; email too, after the other row is gone). Custom fields the same, per key.
  `marketing_only` stays on only if both were marketing-only (sales knew either); `is_minor` is on
  if either was.
- **Consent**: each preference takes the more restrictive value (`STRICTER`: do-not-email flags on
  if either is on, prefill, tracking and guardian consent on only if both are, the lower consent
  level), written through crm_core.consent so every change is in the trail (source `merge`). The
  other's consent trail moves to the survivor. On a list both were on, unsubscribed wins.
- **Related records** move to the survivor: leads, interactions, opportunities, registrations
  (both on one event: one registration, attended if either attended), list memberships, the consent
  trail, wards; every app's own rows through its `merge_hooks.merge_contacts(survivor=, other=,
  actor=)` (segments, journeys, landing, sales), which returns counts for the audit entry.
- The other contact row is deleted; `MergedContact` keeps its id (and its email, when the survivor
  kept its own) pointing at the survivor (chains re-pointed), so the old id and the old address still
  find the person; and an `AuditLog` entry (`contact.merge`) records both ids, who, when and the counts.

Both contacts are locked first, in id order, then their leads by id: the person lock order
(tests/test_person_lock_order.py), so a form post or rescoring of either waits for the merge.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .. import events
from ..apphooks import app_hook_modules
from ..consent import contact_preferences_update
from ..models import AuditLog, ConsentSource, Contact, Lead, MergedContact
from . import merge_moves
from .duplicate_scan import duplicates_forget_contact

ACTION_MERGE = "contact.merge"
MERGE_HOOKS_MODULE = "merge_hooks"

# Profile fields an empty survivor value takes from the other contact.
FILLED_FIELDS = (
    "first_name",
    "last_name",
    "phone",
    "job_title",
    "job_role",
    "country",
    "city",
    "parent_account_id",
    "owner_id",
    "guardian_id",
)
# Consent preference -> how two values combine into the stricter one.
STRICTER = {
    "do_not_bulk_email": any,
    "do_not_email": any,
    "allow_prefill": all,
    "track_email": all,
    "guardian_consent": all,
    "consent_level": min,
}


def _empty(value) -> bool:
    return value is None or value == "" or value == {} or value == []


def merged_values(survivor: Contact, other: Contact) -> dict:
    """The survivor's profile after the merge: only the fields that change (a pure function)."""
    values = {}
    for name in FILLED_FIELDS:
        if _empty(getattr(survivor, name)) and not _empty(getattr(other, name)):
            values[name] = getattr(other, name)
    if values.get("guardian_id") == survivor.pk:  # the other's guardian was the survivor itself
        del values["guardian_id"]
    if survivor.email is None and other.email is not None:
        values["email"] = other.email
    custom = {**{k: v for k, v in other.custom.items() if not _empty(v)}}
    custom.update({k: v for k, v in survivor.custom.items() if not _empty(v) or k not in custom})
    if custom != survivor.custom:
        values["custom"] = custom
    if survivor.marketing_only and not other.marketing_only:
        values["marketing_only"] = False
    if other.is_minor and not survivor.is_minor:
        values["is_minor"] = True
    return values


def stricter_consent(survivor: Contact, other: Contact) -> dict:
    """The consent preferences that change on the survivor (the stricter of each pair)."""
    changes = {}
    for name, combine in STRICTER.items():
        value = combine([getattr(survivor, name), getattr(other, name)])
        if value != getattr(survivor, name):
            changes[name] = value
    return changes


def merge_survivor(contact_id) -> int | None:
    """The contact a merged-away id now lives on (None: the id was never merged away)."""
    try:
        return (
            MergedContact.objects.filter(merged_id=int(contact_id))
            .values_list("survivor_id", flat=True)
            .first()
        )
    except (TypeError, ValueError, OverflowError):
        return None


def _lock(survivor_id: int, other_id: int) -> tuple[Contact, Contact]:
    """Both contacts, then both's leads, each in id order (the person lock order)."""
    locked = {
        c.pk: c
        for c in Contact.objects.select_for_update().filter(pk__in=[survivor_id, other_id]).order_by("pk")
    }
    list(
        Lead.objects.select_for_update()
        .filter(parent_contact_id__in=[survivor_id, other_id])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if other_id not in locked:
        raise ValidationError({"other": [_gone(other_id)]})
    if survivor_id not in locked:
        raise ValidationError({"survivor": [_gone(survivor_id)]})
    return locked[survivor_id], locked[other_id]


def _gone(contact_id: int) -> str:
    survivor = merge_survivor(contact_id)
    if survivor is not None:
        return f"Contact {contact_id} was already merged into contact {survivor}."
    return f"There is no contact {contact_id}."


def _validated_ids(survivor_id, other_id) -> tuple[int, int]:
    try:
        survivor_id, other_id = int(survivor_id), int(other_id)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"other": ["A contact id (a whole number) is required."]}) from exc
    if survivor_id == other_id:
        raise ValidationError({"other": ["A contact cannot be merged with itself; choose another contact."]})
    return survivor_id, other_id


@transaction.atomic
def contacts_merge(*, survivor_id, other_id, actor=None) -> dict:
    """Merge contact `other_id` into `survivor_id` (the module docstring's rules). Returns the audit
    entry's details: both ids, the fields filled, the consent changed and the counts moved.

    Raises ValidationError (field `other` or `survivor`) for the same id, an unknown or merged id.
    """
    survivor_id, other_id = _validated_ids(survivor_id, other_id)
    survivor, other = _lock(survivor_id, other_id)
    actor = actor if getattr(actor, "is_authenticated", False) else None
    now = timezone.now()
    moved: dict[str, int] = {}
    moved.update(merge_moves.leads_move(survivor, other))
    moved.update(merge_moves.activity_move(survivor, other))
    moved.update(merge_moves.registrations_move(survivor, other))
    moved.update(merge_moves.memberships_move(survivor, other, actor=actor))
    for hook in app_hook_modules(MERGE_HOOKS_MODULE):
        moved.update(hook.merge_contacts(survivor=survivor, other=other, actor=actor))
    values = merged_values(survivor, other)
    consent = stricter_consent(survivor, other)
    Contact.objects.filter(pk=other.pk).delete()
    duplicates_forget_contact(other.pk)
    if values:
        Contact.objects.filter(pk=survivor.pk).update(
            **values, updated_at=now, updated_by_id=actor.pk if actor else survivor.updated_by_id
        )
    if consent:
        contact_preferences_update(contact=survivor, changes=consent, source=ConsentSource.MERGE, actor=actor)
    MergedContact.objects.filter(survivor_id=other.pk).update(survivor_id=survivor.pk)
    kept_email = other.email if other.email and values.get("email") != other.email else None
    MergedContact.objects.create(
        merged_id=other.pk, survivor_id=survivor.pk, email=kept_email, merged_at=now, merged_by=actor
    )
    details = {
        "survivor": survivor.pk,
        "merged": other.pk,
        "fields_filled": sorted(name.removesuffix("_id") for name in values),
        "consent_changed": sorted(consent),
        "moved": moved,
    }
    AuditLog.objects.create(
        actor=actor, action=ACTION_MERGE, object_type="contact", object_id=str(survivor.pk), details=details
    )
    _announce(survivor.pk, other.pk, fields=[name.removesuffix("_id") for name in values])
    return details


def _announce(survivor_id: int, other_id: int, *, fields: list[str]) -> None:
    """Live segments re-evaluate the survivor, lead scoring rescores its leads (their contact changed)."""
    both = [survivor_id, other_id]
    events.records_changed_on_commit(
        entity=events.CONTACT, action=events.DELETED, ids=[other_id], contact_ids=both
    )
    events.records_changed_on_commit(
        entity=events.CONTACT,
        action=events.UPDATED,
        ids=[survivor_id],
        contact_ids=[survivor_id],
        fields=None,
    )
    lead_ids = merge_moves.moved_lead_ids_of(survivor_id)
    events.records_changed_on_commit(
        entity=events.LEAD,
        action=events.UPDATED,
        ids=lead_ids,
        contact_ids=[survivor_id],
        fields=["parent_contact"],
    )
    for entity in (events.INTERACTION, events.OPPORTUNITY, events.SUBSCRIPTION, events.REGISTRATION):
        events.records_changed_on_commit(entity=entity, action=events.UPDATED, ids=None, contact_ids=both)
