"""Consent changes of one contact: preferences, list subscriptions and the double opt-in.

Every value that really changes leaves one `ConsentChange` row (time, source, actor, address) and
is announced with `crm_core.events.records_changed_on_commit`.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .. import events
from ..models import (
    ConsentChange,
    ConsentSource,
    Contact,
    ListMembership,
    SubscriptionList,
    SubscriptionStatus,
)

# Preferences recorded in the consent trail when they change.
PREFERENCE_FIELDS = (
    "do_not_bulk_email",
    "do_not_email",
    "allow_prefill",
    "track_email",
    "consent_level",
    "guardian_consent",
)


def text_value(value) -> str:
    """A preference value as the consent trail stores it (None: empty)."""
    return "" if value is None else str(value)


@transaction.atomic
def contact_preferences_update(
    *, contact: Contact, changes: dict, source: str, actor=None, ip_address: str | None = None
) -> list[ConsentChange]:
    """Set preference fields (PREFERENCE_FIELDS) of `contact`; record each value that really changed."""
    unknown = set(changes) - set(PREFERENCE_FIELDS)
    if unknown:
        raise ValueError(f"not consent preferences: {', '.join(sorted(unknown))}")
    locked = Contact.objects.select_for_update().get(pk=contact.pk)
    now = timezone.now()
    records = []
    for field, value in changes.items():
        old = getattr(locked, field)
        if old == value:
            continue
        setattr(locked, field, value)
        setattr(contact, field, value)
        records.append(
            ConsentChange(
                contact=locked,
                field=field,
                old_value=text_value(old),
                new_value=text_value(value),
                source=source,
                actor=actor,
                ip_address=ip_address,
                changed_at=now,
            )
        )
    if records:
        locked.save(update_fields=[r.field for r in records] + ["updated_at"])
        ConsentChange.objects.bulk_create(records)
        events.records_changed_on_commit(
            entity=events.CONTACT,
            action=events.UPDATED,
            ids=[locked.pk],
            contact_ids=[locked.pk],
            fields=[r.field for r in records],
        )
    return records


@transaction.atomic
def consent_increase_request(*, contact: Contact, level: int) -> bool:
    """Hold a consent increase that nobody has confirmed (an anonymous form post) as pending.

    Nothing about the person's consent changes until `consent_increase_confirm`; returns True when a
    confirmation should be sent (the level is above both the current and any pending level).
    """
    locked = Contact.objects.select_for_update().get(pk=contact.pk)
    if level <= locked.consent_level or level <= (locked.pending_consent_level or 0):
        return False
    locked.pending_consent_level = contact.pending_consent_level = level
    locked.pending_consent_requested_at = contact.pending_consent_requested_at = timezone.now()
    locked.save(update_fields=["pending_consent_level", "pending_consent_requested_at", "updated_at"])
    return True


@transaction.atomic
def consent_increase_confirm(*, contact: Contact, ip_address: str | None = None) -> list[ConsentChange]:
    """The person confirmed the pending increase through the emailed link: apply and record it."""
    locked = Contact.objects.select_for_update().get(pk=contact.pk)
    pending = locked.pending_consent_level
    if pending is None:
        return []
    locked.pending_consent_level = contact.pending_consent_level = None
    locked.pending_consent_requested_at = contact.pending_consent_requested_at = None
    locked.save(update_fields=["pending_consent_level", "pending_consent_requested_at", "updated_at"])
    if pending <= locked.consent_level:
        return []
    return contact_preferences_update(
        contact=contact,
        changes={"consent_level": pending},
        source=ConsentSource.EMAIL_CONFIRMATION,
        ip_address=ip_address,
    )


@transaction.atomic
def list_subscription_set(
    *,
    contact: Contact,
    subscription_list: SubscriptionList,
    subscribed: bool,
    source: str,
    actor=None,
    ip_address: str | None = None,
) -> ConsentChange | None:
    """Subscribe `contact` to or remove it from a list; record the change (None when nothing changed)."""
    now = timezone.now()
    membership, created = ListMembership.objects.select_for_update().get_or_create(
        contact=contact,
        subscription_list=subscription_list,
        defaults={
            "status": SubscriptionStatus.SUBSCRIBED if subscribed else SubscriptionStatus.UNSUBSCRIBED,
            "subscribed_at": now if subscribed else None,
            "unsubscribed_at": None if subscribed else now,
        },
    )
    new_status = SubscriptionStatus.SUBSCRIBED if subscribed else SubscriptionStatus.UNSUBSCRIBED
    # Leaving a list one was never on is still recorded: it blocks later email for that list.
    old_status = "" if created else membership.status
    if not created:
        if membership.status == new_status:
            return None
        membership.status = new_status
        if subscribed:
            membership.subscribed_at = now
        else:
            membership.unsubscribed_at = now
        membership.save(update_fields=["status", "subscribed_at", "unsubscribed_at"])
    events.records_changed_on_commit(
        entity=events.SUBSCRIPTION,
        action=events.CREATED if created else events.UPDATED,
        ids=[membership.pk],
        contact_ids=[contact.pk],
        fields=["status"],
    )
    return ConsentChange.objects.create(
        contact=contact,
        field="list",
        subscription_list=subscription_list,
        old_value=old_status,
        new_value=new_status,
        source=source,
        actor=actor,
        ip_address=ip_address,
        changed_at=now,
    )
