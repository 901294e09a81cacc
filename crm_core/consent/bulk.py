"""Set-based consent writes for many contacts at once (journey steps): a few statements per batch,
whatever its size, with the same trail as the single-contact writers (`crm_core.consent.changes`).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from .. import events
from ..models import ConsentChange, Contact, ListMembership, SubscriptionList, SubscriptionStatus
from .changes import PREFERENCE_FIELDS, text_value

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
                old_value=text_value(old),
                new_value=text_value(value),
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
