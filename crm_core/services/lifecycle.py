"""The lead lifecycle: status moves checked against one table, recorded with who and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from .. import events
from ..models import (
    Contact,
    Lead,
    LeadStatus,
    LeadStatusChange,
    Opportunity,
    OpportunityStage,
    OpportunityStatus,
)
from .orphans import _link_orphan_batch

# --- Lead lifecycle ------------------------------------------------------------------------
# new -> marketing_qualified -> sales_accepted -> qualified (an opportunity) | disqualified;
# sales may return a lead to marketing (nurture). Each transition is checked against the lead's
# current status under a row lock and recorded in LeadStatusChange with who and when.


class LeadTransitionError(Exception):
    """A lifecycle transition the lead's current status does not allow."""


@dataclass(frozen=True)
class Transition:
    verb: str
    to_status: str
    allowed_from: tuple[str, ...]


S = LeadStatus
MARK_MARKETING_QUALIFIED = Transition("mark marketing qualified", S.MARKETING_QUALIFIED, (S.NEW, S.NURTURE))
ACCEPT = Transition("accept", S.SALES_ACCEPTED, (S.NEW, S.MARKETING_QUALIFIED))
QUALIFY = Transition("qualify", S.QUALIFIED, (S.NEW, S.MARKETING_QUALIFIED, S.SALES_ACCEPTED))
DISQUALIFY = Transition(
    "disqualify", S.DISQUALIFIED, (S.NEW, S.MARKETING_QUALIFIED, S.SALES_ACCEPTED, S.NURTURE)
)
RETURN_TO_MARKETING = Transition(
    "return to marketing", S.NURTURE, (S.NEW, S.MARKETING_QUALIFIED, S.SALES_ACCEPTED)
)
LEAD_TRANSITIONS = (MARK_MARKETING_QUALIFIED, ACCEPT, QUALIFY, DISQUALIFY, RETURN_TO_MARKETING)


def _status_label(status: str) -> str:
    return LeadStatus(status).label.lower()


def _lead_transition(*, lead: Lead, transition: Transition, actor=None) -> tuple[Lead, str]:
    """Lock the lead, check the transition and set the new status (unsaved); return it and the old one.

    Call inside a transaction.
    """
    locked = Lead.objects.select_for_update().get(pk=lead.pk)
    if locked.status not in transition.allowed_from:
        allowed = ", ".join(_status_label(s) for s in transition.allowed_from)
        raise LeadTransitionError(
            f"Cannot {transition.verb} a lead that is {_status_label(locked.status)}; "
            f"only a lead that is {allowed} can be moved to {_status_label(transition.to_status)}."
        )
    from_status = locked.status
    locked.status = transition.to_status
    locked.updated_by_id = actor.pk if actor is not None and actor.is_authenticated else None
    return locked, from_status


def _record_transition(
    *, lead: Lead, from_status: str, actor, reason: str = "", opportunity=None
) -> LeadStatusChange:
    events.records_changed_on_commit(
        entity=events.LEAD,
        action=events.UPDATED,
        ids=[lead.pk],
        contact_ids=[lead.parent_contact_id],
        fields=["status", "owner", "parent_contact"],
    )
    return LeadStatusChange.objects.create(
        lead=lead,
        from_status=from_status,
        to_status=lead.status,
        actor=actor if actor is not None and actor.is_authenticated else None,
        reason=reason,
        opportunity=opportunity,
        changed_at=timezone.now(),
    )


@transaction.atomic
def lead_mark_marketing_qualified(*, lead: Lead, actor=None, reason: str = "") -> Lead:
    """Hand a lead to sales by hand (scoring does the same when a lead becomes sales-ready)."""
    lead, from_status = _lead_transition(lead=lead, transition=MARK_MARKETING_QUALIFIED, actor=actor)
    lead.save(update_fields=["status", "updated_at", "updated_by"])
    _record_transition(lead=lead, from_status=from_status, actor=actor, reason=reason)
    return lead


@transaction.atomic
def lead_accept(*, lead: Lead, actor=None, reason: str = "") -> Lead:
    """Sales accepts the lead; an unowned lead becomes the accepting user's."""
    lead, from_status = _lead_transition(lead=lead, transition=ACCEPT, actor=actor)
    fields = ["status", "updated_at", "updated_by"]
    if lead.owner_id is None and actor is not None and actor.is_authenticated:
        lead.owner = actor
        fields.append("owner")
    lead.save(update_fields=fields)
    _record_transition(lead=lead, from_status=from_status, actor=actor, reason=reason)
    return lead


@transaction.atomic
def lead_qualify(
    *,
    lead: Lead,
    actor=None,
    reason: str = "",
    opportunity_name: str = "",
    amount: Decimal | None = None,
    close_date: date | None = None,
) -> tuple[Lead, Opportunity]:
    """Qualify the lead into an opportunity for its contact and account.

    An orphan lead gets its contact first (the orphan-lead workflow, run now for this lead).
    The contact stops being marketing-only: it is a sales contact from now on.
    """
    lead, from_status = _lead_transition(lead=lead, transition=QUALIFY, actor=actor)
    if lead.parent_contact_id is None:
        _link_orphan_batch(ids=[lead.pk], run_started=timezone.now())
        lead.parent_contact_id = Lead.objects.values_list("parent_contact_id", flat=True).get(pk=lead.pk)
    contact = Contact.objects.select_for_update().get(pk=lead.parent_contact_id)
    if contact.marketing_only:
        contact.marketing_only = False
        contact.save(update_fields=["marketing_only", "updated_at"])
        events.records_changed_on_commit(
            entity=events.CONTACT,
            action=events.UPDATED,
            ids=[contact.pk],
            contact_ids=[contact.pk],
            fields=["marketing_only"],
        )
    account_id = lead.parent_account_id or contact.parent_account_id
    person = f"{lead.first_name} {lead.last_name}".strip() or str(contact)
    opportunity = Opportunity.objects.create(
        name=(opportunity_name or f"{lead.topic} - {lead.company_name or person}")[:200],
        account_id=account_id,
        contact=contact,
        originating_lead=lead,
        owner_id=lead.owner_id or (actor.pk if actor is not None and actor.is_authenticated else None),
        stage=OpportunityStage.QUALIFICATION,
        status=OpportunityStatus.OPEN,
        amount=amount if amount is not None else lead.estimated_value,
        close_date=close_date,
    )
    events.records_changed_on_commit(
        entity=events.OPPORTUNITY, action=events.CREATED, ids=[opportunity.pk], contact_ids=[contact.pk]
    )
    lead.save(update_fields=["status", "parent_contact", "updated_at", "updated_by"])
    _record_transition(
        lead=lead, from_status=from_status, actor=actor, reason=reason, opportunity=opportunity
    )
    return lead, opportunity


@transaction.atomic
def lead_disqualify(*, lead: Lead, actor=None, reason: str = "") -> Lead:
    lead, from_status = _lead_transition(lead=lead, transition=DISQUALIFY, actor=actor)
    lead.save(update_fields=["status", "updated_at", "updated_by"])
    _record_transition(lead=lead, from_status=from_status, actor=actor, reason=reason)
    return lead


@transaction.atomic
def lead_return_to_marketing(*, lead: Lead, actor=None, reason: str = "") -> Lead:
    """Sales sends the lead back to marketing for more nurture."""
    lead, from_status = _lead_transition(lead=lead, transition=RETURN_TO_MARKETING, actor=actor)
    lead.save(update_fields=["status", "updated_at", "updated_by"])
    _record_transition(lead=lead, from_status=from_status, actor=actor, reason=reason)
    return lead


@transaction.atomic
def lead_assign(*, lead: Lead, owner, actor=None, reason: str = "") -> Lead:
    """Give the lead to `owner` (None: unassigned). Who may do it is `crm_core.access.check_lead_assign`."""
    locked = Lead.objects.select_for_update().get(pk=lead.pk)
    owner_id = owner.pk if owner is not None else None
    if locked.owner_id == owner_id:
        return locked
    locked.owner_id = owner_id
    locked.updated_by_id = actor.pk if actor is not None and actor.is_authenticated else None
    locked.save(update_fields=["owner", "updated_by", "updated_at"])
    events.records_changed_on_commit(
        entity=events.LEAD,
        action=events.UPDATED,
        ids=[locked.pk],
        contact_ids=[locked.parent_contact_id],
        fields=["owner"],
    )
    return locked
