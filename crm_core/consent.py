"""The one place that decides whether a contact may get marketing email or be tracked, and records changes.

Reads come in two shapes that always agree (a test holds them to it):
- per contact, with the reason when not allowed: `marketing_email_decision`, `tracking_decision`;
- set-based, as a `Q` over contacts for journeys and segments at a million rows:
  `marketing_email_allowed_q`, `tracking_allowed_q`.

Writes change a preference or a list subscription and add one `ConsentChange` row per changed
value, with time and source: for one contact (`contact_preferences_update`,
`list_subscription_set`) or set-based for many (`contacts_field_set`, `list_memberships_set`, a few
statements whatever the batch size, as journeys need; these announce what they changed with
`crm_core.events.records_changed_on_commit`).

Rules for marketing email: the contact has an email; not `do_not_email`; not
`do_not_bulk_email`; `consent_level` at least the required minimum; a minor only
with a guardian's consent; and, for a list, not unsubscribed from it (or, with
`require_subscription`, subscribed to it). Tracking: `track_email` on,
`consent_level` at least TRACKING, and a minor only with a guardian's consent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Case, CharField, Exists, OuterRef, Q, Value, When
from django.utils import timezone

from . import events
from .models import (
    ConsentChange,
    ConsentLevel,
    ConsentSource,
    Contact,
    ListMembership,
    SubscriptionList,
    SubscriptionStatus,
)

NO_EMAIL = "no_email"
DO_NOT_EMAIL = "do_not_email"
DO_NOT_BULK_EMAIL = "do_not_bulk_email"
CONSENT_TOO_LOW = "consent_too_low"
MINOR_WITHOUT_GUARDIAN_CONSENT = "minor_without_guardian_consent"
UNSUBSCRIBED_FROM_LIST = "unsubscribed_from_list"
NOT_SUBSCRIBED_TO_LIST = "not_subscribed_to_list"
TRACKING_OFF = "tracking_off"

REASONS = {
    NO_EMAIL: "the contact has no email address",
    DO_NOT_EMAIL: "the contact does not allow any email",
    DO_NOT_BULK_EMAIL: "the contact does not allow bulk (marketing) email",
    CONSENT_TOO_LOW: "the contact's consent level is below the required minimum",
    MINOR_WITHOUT_GUARDIAN_CONSENT: "the contact is a minor without a guardian's consent",
    UNSUBSCRIBED_FROM_LIST: "the contact left this subscription list",
    NOT_SUBSCRIBED_TO_LIST: "the contact is not subscribed to this subscription list",
    TRACKING_OFF: "the contact does not allow email tracking",
}

DEFAULT_MARKETING_MINIMUM = ConsentLevel.MARKETING
TRACKING_MINIMUM = ConsentLevel.TRACKING

# Preferences recorded in the consent trail when they change.
PREFERENCE_FIELDS = (
    "do_not_bulk_email",
    "do_not_email",
    "allow_prefill",
    "track_email",
    "consent_level",
    "guardian_consent",
)
# The contact fields `tracking_decision` reads (a sender loads just these with its batch).
TRACKING_FIELDS = ("track_email", "consent_level", "is_minor", "guardian_consent")
# Profile fields a set-based writer may set on many contacts at once (`contacts_field_set`): plain
# values with no uniqueness, normalisation or ownership rules of their own.
BULK_SETTABLE_PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "phone",
    "job_title",
    "job_role",
    "country",
    "city",
)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str | None = None  # one of the codes above when not allowed

    def __bool__(self) -> bool:
        return self.allowed

    @property
    def message(self) -> str:
        return REASONS.get(self.reason, "") if self.reason else ""


ALLOWED = Decision(True)


def _minor_ok(contact: Contact) -> bool:
    return not contact.is_minor or contact.guardian_consent


def _membership_status(contact: Contact, subscription_list: SubscriptionList) -> str | None:
    return (
        ListMembership.objects.filter(contact=contact, subscription_list=subscription_list)
        .values_list("status", flat=True)
        .first()
    )


def marketing_email_decision(
    contact: Contact,
    *,
    minimum_level: int = DEFAULT_MARKETING_MINIMUM,
    subscription_list: SubscriptionList | None = None,
    require_subscription: bool = False,
) -> Decision:
    """May `contact` get marketing email (optionally for `subscription_list`)? With the reason if not."""
    if not contact.email:
        return Decision(False, NO_EMAIL)
    if contact.do_not_email:
        return Decision(False, DO_NOT_EMAIL)
    if contact.do_not_bulk_email:
        return Decision(False, DO_NOT_BULK_EMAIL)
    if contact.consent_level < minimum_level:
        return Decision(False, CONSENT_TOO_LOW)
    if not _minor_ok(contact):
        return Decision(False, MINOR_WITHOUT_GUARDIAN_CONSENT)
    if subscription_list is not None:
        status = _membership_status(contact, subscription_list)
        if status == SubscriptionStatus.UNSUBSCRIBED:
            return Decision(False, UNSUBSCRIBED_FROM_LIST)
        if require_subscription and status != SubscriptionStatus.SUBSCRIBED:
            return Decision(False, NOT_SUBSCRIBED_TO_LIST)
    return ALLOWED


def tracking_decision(contact: Contact) -> Decision:
    """May opens and clicks of `contact` be tracked?"""
    if not contact.track_email:
        return Decision(False, TRACKING_OFF)
    if contact.consent_level < TRACKING_MINIMUM:
        return Decision(False, CONSENT_TOO_LOW)
    if not _minor_ok(contact):
        return Decision(False, MINOR_WITHOUT_GUARDIAN_CONSENT)
    return ALLOWED


def marketing_email_allowed_q(
    *,
    minimum_level: int = DEFAULT_MARKETING_MINIMUM,
    subscription_list: SubscriptionList | int | None = None,
    require_subscription: bool = False,
) -> Q:
    """The contacts `marketing_email_decision` allows, as one filter (Exists for the list)."""
    q = (
        Q(email__isnull=False)
        & Q(do_not_email=False)
        & Q(do_not_bulk_email=False)
        & Q(consent_level__gte=minimum_level)
        & (Q(is_minor=False) | Q(guardian_consent=True))
    )
    if subscription_list is not None:
        members = ListMembership.objects.filter(contact=OuterRef("pk"), subscription_list=subscription_list)
        q &= ~Exists(members.filter(status=SubscriptionStatus.UNSUBSCRIBED))
        if require_subscription:
            q &= Exists(members.filter(status=SubscriptionStatus.SUBSCRIBED))
    return q


def marketing_email_block_reasons(
    contact_ids: Iterable[int],
    *,
    minimum_level: int = DEFAULT_MARKETING_MINIMUM,
    subscription_list: SubscriptionList | int | None = None,
) -> dict[int, str]:
    """{contact_id: reason} for the contacts of a batch who may not get marketing email; one query.

    The same rules, in the same order, as `marketing_email_decision`; allowed contacts are absent.
    """
    whens = [
        When(email__isnull=True, then=Value(NO_EMAIL)),
        When(do_not_email=True, then=Value(DO_NOT_EMAIL)),
        When(do_not_bulk_email=True, then=Value(DO_NOT_BULK_EMAIL)),
        When(consent_level__lt=minimum_level, then=Value(CONSENT_TOO_LOW)),
        When(is_minor=True, guardian_consent=False, then=Value(MINOR_WITHOUT_GUARDIAN_CONSENT)),
    ]
    if subscription_list is not None:
        unsubscribed = ListMembership.objects.filter(
            contact=OuterRef("pk"),
            subscription_list=subscription_list,
            status=SubscriptionStatus.UNSUBSCRIBED,
        )
        whens.append(When(Exists(unsubscribed), then=Value(UNSUBSCRIBED_FROM_LIST)))
    rows = (
        Contact.objects.filter(id__in=list(contact_ids))
        .annotate(block=Case(*whens, default=None, output_field=CharField()))
        .filter(block__isnull=False)
        .values_list("id", "block")
    )
    return dict(rows)


def tracking_allowed_q() -> Q:
    """The contacts `tracking_decision` allows, as one filter."""
    return (
        Q(track_email=True)
        & Q(consent_level__gte=TRACKING_MINIMUM)
        & (Q(is_minor=False) | Q(guardian_consent=True))
    )


# --- Writes: every change leaves a ConsentChange row ----------------------------------------------------


def _text(value) -> str:
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
                old_value=_text(old),
                new_value=_text(value),
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


# --- Set-based writes for many contacts at once (journey steps): a few statements per batch ----------


def _actor_id(actor) -> int | None:
    return actor.pk if actor is not None and getattr(actor, "is_authenticated", False) else None


def _unique_ids(ids: Iterable[int]) -> list[int]:
    return sorted({int(pk) for pk in ids if pk is not None})


@transaction.atomic(savepoint=False)
def contacts_field_set(
    *, contact_ids: Iterable[int], field: str, value, source: str, actor=None
) -> list[int]:
    """Set one field of many contacts; return the ids of those whose value really changed.

    Only those rows are written (and get a new `updated_at`), so a step run again changes nothing
    and FIELD_CHANGED triggers see real changes only. A consent preference leaves one
    `ConsentChange` per changed contact, with its old value: the trail the single-contact writer
    keeps. Three statements (lock and read the old values, update, insert the trail) whatever the
    batch size.
    """
    if field not in PREFERENCE_FIELDS and field not in BULK_SETTABLE_PROFILE_FIELDS:
        raise ValueError(f"contact field {field!r} cannot be set on many contacts at once")
    value = Contact._meta.get_field(field).clean(value, None)
    before = list(
        Contact.objects.select_for_update()
        .filter(pk__in=_unique_ids(contact_ids))
        .exclude(**{field: value})
        .order_by("pk")
        .values_list("pk", field)
    )
    changed = [pk for pk, _ in before]
    if not changed:
        return []
    now = timezone.now()
    actor_id = _actor_id(actor)
    Contact.objects.filter(pk__in=changed).update(**{field: value}, updated_at=now, updated_by_id=actor_id)
    if field in PREFERENCE_FIELDS:
        ConsentChange.objects.bulk_create(
            ConsentChange(
                contact_id=pk,
                field=field,
                old_value=_text(old),
                new_value=_text(value),
                source=source,
                actor_id=actor_id,
                changed_at=now,
            )
            for pk, old in before
        )
    events.records_changed_on_commit(
        entity=events.CONTACT, action=events.UPDATED, ids=changed, contact_ids=changed, fields=[field]
    )
    return changed


@transaction.atomic(savepoint=False)
def list_memberships_set(
    *,
    contact_ids: Iterable[int],
    subscription_list_id: int,
    subscribed: bool,
    source: str,
    actor=None,
    resubscribe: bool = False,
) -> list[int]:
    """Put many contacts on a subscription list or take them off it; return the contact ids whose
    membership really changed (each gets one `ConsentChange`).

    A membership is never deleted: leaving marks it unsubscribed with `unsubscribed_at`, the proof
    that blocks later email for that list (a contact who was never on the list gets such a row,
    as with `list_subscription_set`). Subscribing leaves those who left the list where they are
    unless `resubscribe` (their own choice, e.g. in the subscription center): a workflow never
    undoes an opt-out. A few statements whatever the batch size.
    """
    ids = _unique_ids(contact_ids)
    status = SubscriptionStatus.SUBSCRIBED if subscribed else SubscriptionStatus.UNSUBSCRIBED
    existing = list(
        ListMembership.objects.select_for_update()
        .filter(subscription_list_id=subscription_list_id, contact_id__in=ids)
        .order_by("pk")
        .values_list("pk", "contact_id", "status")
    )
    known = {contact_id for _, contact_id, _ in existing}
    now = timezone.now()
    created = _memberships_insert(
        subscription_list_id, [pk for pk in ids if pk not in known], status=status, now=now
    )
    flipped = [row for row in existing if row[2] != status and (not subscribed or resubscribe)]
    if flipped:
        stamp = "subscribed_at" if subscribed else "unsubscribed_at"
        ListMembership.objects.filter(pk__in=[pk for pk, _, _ in flipped]).update(
            status=status, **{stamp: now}
        )
    changes = [(contact_id, "") for _, contact_id in created] + [(c, old) for _, c, old in flipped]
    ConsentChange.objects.bulk_create(
        ConsentChange(
            contact_id=contact_id,
            field="list",
            subscription_list_id=subscription_list_id,
            old_value=old,
            new_value=status,
            source=source,
            actor_id=_actor_id(actor),
            changed_at=now,
        )
        for contact_id, old in changes
    )
    for action, rows in ((events.CREATED, created), (events.UPDATED, [(pk, c) for pk, c, _ in flipped])):
        events.records_changed_on_commit(
            entity=events.SUBSCRIPTION,
            action=action,
            ids=[pk for pk, _ in rows],
            contact_ids=[contact_id for _, contact_id in rows],
            fields=None if action == events.CREATED else ["status"],
        )
    return sorted(contact_id for contact_id, _ in changes)


def _memberships_insert(list_id: int, contact_ids: list[int], *, status: str, now) -> list[tuple[int, int]]:
    """Insert the memberships of these contacts that do not exist yet; one INSERT ... SELECT that
    skips rows another writer added meanwhile (ON CONFLICT DO NOTHING) and contacts or a list that
    are gone. Returns (membership id, contact id) of the rows it really added."""
    if not contact_ids:
        return []
    contacts_sql, contacts_params = (
        Contact.objects.filter(pk__in=contact_ids).order_by().values("id").query.sql_with_params()
    )
    connection = transaction.get_connection()
    stamp = connection.ops.adapt_datetimefield_value(now)  # raw SQL: stored as the ORM stores it
    subscribed = status == SubscriptionStatus.SUBSCRIBED
    with connection.cursor() as cursor:
        # Portable SQL (PostgreSQL and SQLite): the WHERE clause also settles SQLite's reading of
        # INSERT ... SELECT ... ON CONFLICT.
        cursor.execute(
            f"""INSERT INTO {ListMembership._meta.db_table}
                    (subscription_list_id, contact_id, status, subscribed_at, unsubscribed_at)
                SELECT l.id, c.id, %s, %s, %s
                FROM ({contacts_sql}) AS c, {SubscriptionList._meta.db_table} AS l
                WHERE l.id = %s
                ON CONFLICT (subscription_list_id, contact_id) DO NOTHING
                RETURNING id, contact_id""",
            [
                status,
                stamp if subscribed else None,
                None if subscribed else stamp,
                *contacts_params,
                list_id,
            ],
        )
        return [(pk, contact_id) for pk, contact_id in cursor.fetchall()]
