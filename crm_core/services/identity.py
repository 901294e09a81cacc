"""Identity review: leads whose person a landing page could not confirm.

A page whose contact-matching rule refuses the known contact with the submitted email (same email,
another last name, say) must not put the submission on that contact's record: an impostor's lead
would be scored from the real person's interactions and handed to sales. The lead is stored
without a contact, in conflict, naming the known contact (`lead_create_identity_conflict`); the
orphan-lead workflow leaves it alone. A marketer then links it to that contact (or another one)
or dismisses it. Who may do that is `crm_core.access.check_identity_review`.
"""

from __future__ import annotations

from django.db import transaction

from .. import events
from ..models import Contact, IdentityStatus, Lead
from .lifecycle import DISQUALIFY, lead_disqualify
from .records import LEAD_CREATE_FIELDS, _actor_id, _checked

DISMISS_REASON = "Identity conflict dismissed: the submitted details did not match the known contact."


class IdentityReviewError(Exception):
    """A review step the lead's identity status does not allow (it is not in conflict)."""


def _announce(lead: Lead, *, action: str, fields: list[str] | None) -> None:
    events.records_changed_on_commit(
        entity=events.LEAD, action=action, ids=[lead.pk], contact_ids=[lead.parent_contact_id], fields=fields
    )


@transaction.atomic
def lead_create_identity_conflict(*, conflict_contact: Contact, actor=None, **values) -> Lead:
    """Create a lead without a contact, held for review because `conflict_contact` has its email."""
    lead = Lead(**_checked(values, LEAD_CREATE_FIELDS, "lead"))
    lead.parent_contact = None
    lead.identity_status = IdentityStatus.CONFLICT
    lead.identity_conflict_contact = conflict_contact
    lead.created_by_id = lead.updated_by_id = _actor_id(actor)
    lead.save()
    _announce(lead, action=events.CREATED, fields=None)
    return lead


def _locked_conflict(lead: Lead) -> Lead:
    locked = Lead.objects.select_for_update().get(pk=lead.pk)
    if locked.identity_status != IdentityStatus.CONFLICT:
        state = IdentityStatus(locked.identity_status).label.lower()
        raise IdentityReviewError(f"Only a lead in identity conflict can be reviewed; this one is: {state}.")
    return locked


@transaction.atomic
def lead_identity_link(*, lead: Lead, contact: Contact | None = None, actor) -> Lead:
    """Give a lead in conflict its contact: the known one it conflicted with, or `contact`."""
    locked = _locked_conflict(lead)
    contact = contact or locked.identity_conflict_contact
    if contact is None:
        raise IdentityReviewError("The contact this lead conflicted with no longer exists; choose a contact.")
    locked.parent_contact = contact
    if locked.parent_account_id is None:
        locked.parent_account_id = contact.parent_account_id
    locked.identity_status = IdentityStatus.LINKED
    locked.updated_by_id = _actor_id(actor)
    fields = ["parent_contact", "parent_account", "identity_status"]
    locked.save(update_fields=[*fields, "updated_by", "updated_at"])
    _announce(locked, action=events.UPDATED, fields=fields)
    return locked


@transaction.atomic
def lead_identity_dismiss(*, lead: Lead, actor, reason: str = "") -> Lead:
    """Keep a lead in conflict without a contact and out of work: dismissed, and disqualified
    through the lifecycle (so its trail says who and why) when its status allows."""
    locked = _locked_conflict(lead)
    locked.identity_status = IdentityStatus.DISMISSED
    locked.updated_by_id = _actor_id(actor)
    locked.save(update_fields=["identity_status", "updated_by", "updated_at"])
    _announce(locked, action=events.UPDATED, fields=["identity_status"])
    if locked.status in DISQUALIFY.allowed_from:
        locked = lead_disqualify(lead=locked, actor=actor, reason=reason or DISMISS_REASON)
    return locked
