"""Moving crm_core's own rows from a contact being merged away to the survivor (crm_core.services.merge).

Each move is one or two set-based statements; where both contacts have a row that may exist once
per contact (a list membership, an event registration), the survivor's row stays and takes the
stricter or fuller value, and the other's is deleted. Other apps' rows move through their
`merge_hooks` (crm_core.apphooks).
"""

from __future__ import annotations

from ..consent import list_subscription_set
from ..models import (
    ConsentChange,
    ConsentSource,
    Contact,
    EventRegistration,
    Interaction,
    Lead,
    ListMembership,
    Opportunity,
    SubscriptionStatus,
)


def leads_move(survivor: Contact, other: Contact) -> dict[str, int]:
    moved = Lead.objects.filter(parent_contact_id=other.pk).update(parent_contact_id=survivor.pk)
    conflicts = Lead.objects.filter(identity_conflict_contact_id=other.pk).update(
        identity_conflict_contact_id=survivor.pk
    )
    return {"leads": moved, "lead_identity_conflicts": conflicts}


def activity_move(survivor: Contact, other: Contact) -> dict[str, int]:
    """Interactions, opportunities, the consent trail and wards simply change contact."""
    return {
        "interactions": Interaction.objects.filter(contact_id=other.pk).update(contact_id=survivor.pk),
        "opportunities": Opportunity.objects.filter(contact_id=other.pk).update(contact_id=survivor.pk),
        "consent_changes": ConsentChange.objects.filter(contact_id=other.pk).update(contact_id=survivor.pk),
        "wards": Contact.objects.filter(guardian_id=other.pk)
        .exclude(pk=survivor.pk)
        .update(guardian_id=survivor.pk),
    }


def registrations_move(survivor: Contact, other: Contact) -> dict[str, int]:
    """Both registered for one event: the survivor's registration stays, attended if either attended."""
    theirs = EventRegistration.objects.filter(contact_id=other.pk)
    both = theirs.filter(
        event_id__in=EventRegistration.objects.filter(contact_id=survivor.pk).values("event_id")
    )
    EventRegistration.objects.filter(
        contact_id=survivor.pk, attended=False, event_id__in=both.filter(attended=True).values("event_id")
    ).update(attended=True)
    merged = both.delete()[0]
    moved = theirs.update(contact_id=survivor.pk)
    return {"event_registrations": moved, "event_registrations_merged": merged}


def memberships_move(survivor: Contact, other: Contact, *, actor) -> dict[str, int]:
    """List memberships. Both on one list: unsubscribed wins (recorded in the consent trail)."""
    theirs = ListMembership.objects.filter(contact_id=other.pk)
    ours = ListMembership.objects.filter(contact_id=survivor.pk)
    both = theirs.filter(subscription_list_id__in=ours.values("subscription_list_id"))
    stricter = ours.filter(
        status=SubscriptionStatus.SUBSCRIBED,
        subscription_list_id__in=both.filter(status=SubscriptionStatus.UNSUBSCRIBED).values(
            "subscription_list_id"
        ),
    ).select_related("subscription_list")
    # One call per list both were on and only one had left: a handful, each recorded as consent.
    unsubscribed = 0
    for membership in stricter.order_by("subscription_list_id"):
        list_subscription_set(
            contact=survivor,
            subscription_list=membership.subscription_list,
            subscribed=False,
            source=ConsentSource.MERGE,
            actor=actor,
        )
        unsubscribed += 1
    merged = both.delete()[0]
    moved = theirs.update(contact_id=survivor.pk)
    return {"list_memberships": moved, "list_memberships_merged": merged, "lists_unsubscribed": unsubscribed}


def moved_lead_ids_of(contact_id: int) -> list[int]:
    """The leads of the survivor after the merge (their scores follow its moved interactions)."""
    return list(Lead.objects.filter(parent_contact_id=contact_id).order_by("pk").values_list("pk", flat=True))
