"""Writes for segments: create/update with validation, refresh membership, freshness signalling."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from .compiler import DefinitionError, contacts_queryset, validate_definition
from .models import (
    MembershipChange,
    Segment,
    SegmentKind,
    SegmentMembership,
    SegmentMembershipEvent,
    SegmentStatus,
)

DIRTY_KEY = "segments:dirty:{entity}"
SCHEDULED_KEY = "segments:refresh-scheduled"
# Changes within this many seconds are folded into one refresh run.
COALESCE_SECONDS = 1
# A scheduled run holds off further scheduling this long at most (if its worker died, the next
# change after this schedules again; the periodic full refresh covers the rest).
SCHEDULED_TTL_SECONDS = 5


@dataclass
class RefreshResult:
    segment_id: int
    added: int = 0
    removed: int = 0
    seconds: float = 0.0
    skipped: str = ""


def definition_entities(definition) -> list[str]:
    """The entities a definition reads: a change to any of them may change the membership."""
    found: set[str] = set()
    from .compiler.registry import ENTITIES

    def walk(node, entity: str):
        if not isinstance(node, dict):
            return
        found.add(entity)
        if "related" in node:
            rel = ENTITIES[entity].relationships.get(node["related"])
            if rel is None:
                return
            entity = rel.target
            found.add(entity)
        for child in node.get("conditions", []) or []:
            walk(child, entity)

    walk(definition, definition.get("entity", "contact") if isinstance(definition, dict) else "contact")
    if isinstance(definition, dict) and definition.get("entity") == "account":
        found.add("contact")  # members are the accounts' contacts
    return sorted(found)


def _validated(definition, *, segment_id: int | None) -> dict:
    errors = validate_definition(definition, segment_id=segment_id)
    if errors:
        raise DefinitionError(errors)
    return definition


@transaction.atomic
def segment_create(*, name: str, definition: dict, created_by=None, **fields) -> Segment:
    _validated(definition, segment_id=None)
    return Segment.objects.create(
        name=name,
        definition=definition,
        entities=definition_entities(definition),
        created_by=created_by,
        **fields,
    )


@transaction.atomic
def segment_update(*, segment: Segment, data: dict) -> Segment:
    if "definition" in data:
        _validated(data["definition"], segment_id=segment.pk)
        if data["definition"] != segment.definition:
            segment.version += 1
        segment.entities = definition_entities(data["definition"])
    for name, value in data.items():
        setattr(segment, name, value)
    segment.save()
    if segment.status == SegmentStatus.LIVE and segment.kind == SegmentKind.DYNAMIC:
        _enqueue_refresh(segment.pk)
    return segment


def _enqueue_refresh(segment_id: int) -> None:
    from .tasks import segment_refresh_task

    transaction.on_commit(lambda: segment_refresh_task.delay(segment_id=segment_id))


@transaction.atomic
def segment_go_live(*, segment: Segment) -> Segment:
    segment.status = SegmentStatus.LIVE
    segment.save(update_fields=["status", "updated_at"])
    if segment.kind == SegmentKind.DYNAMIC:
        _enqueue_refresh(segment.pk)
    return segment


@transaction.atomic
def segment_stop(*, segment: Segment) -> Segment:
    segment.status = SegmentStatus.STOPPED
    segment.save(update_fields=["status", "updated_at"])
    return segment


def segment_refresh(*, segment_id: int) -> RefreshResult:
    """Bring the stored membership up to date: one statement adds new matches, one removes the rest.

    The segment's row lock serialises refreshes of one segment (a second one waits, then finds
    little to do). Static segments keep their list. Each join and leave is logged as an event.
    """
    started = time.perf_counter()
    with transaction.atomic():
        segment = Segment.objects.select_for_update().filter(pk=segment_id).first()
        if segment is None:
            return RefreshResult(segment_id, skipped="deleted")
        if segment.kind == SegmentKind.STATIC:
            return RefreshResult(segment_id, skipped="static")
        members = contacts_queryset(segment.definition).values("pk")
        now = timezone.now()
        if connection.vendor == "postgresql":
            added, removed = _refresh_sql(segment.pk, members, now)
        else:
            added, removed = _refresh_orm(segment.pk, members, now)
        segment.member_count = SegmentMembership.objects.filter(segment_id=segment.pk).count()
        segment.refreshed_at = now
        segment.refreshed_version = segment.version
        segment.last_refresh_added, segment.last_refresh_removed = added, removed
        segment.last_refresh_seconds = time.perf_counter() - started
        segment.save(
            update_fields=[
                "member_count", "refreshed_at", "refreshed_version", "last_refresh_added",
                "last_refresh_removed", "last_refresh_seconds",
            ]
        )  # fmt: skip
    return RefreshResult(segment_id, added, removed, time.perf_counter() - started)


_MEMBERS = SegmentMembership._meta.db_table
_EVENTS = SegmentMembershipEvent._meta.db_table


def _refresh_sql(segment_id: int, members, now) -> tuple[int, int]:
    sql, params = members.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH matches(id) AS ({sql}),
            added AS (
                INSERT INTO {_MEMBERS} (segment_id, contact_id, added_at)
                SELECT %s, m.id, %s FROM matches m
                ON CONFLICT (segment_id, contact_id) DO NOTHING
                RETURNING contact_id
            ),
            logged AS (
                INSERT INTO {_EVENTS} (segment_id, contact_id, change, at)
                SELECT %s, contact_id, %s, %s FROM added
            )
            SELECT count(*) FROM added
            """,
            [*params, segment_id, now, segment_id, MembershipChange.JOINED, now],
        )
        added = cursor.fetchone()[0]
        cursor.execute(
            f"""
            WITH matches(id) AS ({sql}),
            removed AS (
                DELETE FROM {_MEMBERS} sm
                WHERE sm.segment_id = %s AND NOT EXISTS (SELECT 1 FROM matches m WHERE m.id = sm.contact_id)
                RETURNING contact_id
            ),
            logged AS (
                INSERT INTO {_EVENTS} (segment_id, contact_id, change, at)
                SELECT %s, contact_id, %s, %s FROM removed
            )
            SELECT count(*) FROM removed
            """,
            [*params, segment_id, segment_id, MembershipChange.LEFT, now],
        )
        removed = cursor.fetchone()[0]
    return added, removed


def _refresh_orm(segment_id: int, members, now) -> tuple[int, int]:
    """The embedded (SQLite) default: the same result through the ORM."""
    wanted = set(members.values_list("pk", flat=True))
    current = set(
        SegmentMembership.objects.filter(segment_id=segment_id).values_list("contact_id", flat=True)
    )
    joined, left = wanted - current, current - wanted
    SegmentMembership.objects.bulk_create(
        [SegmentMembership(segment_id=segment_id, contact_id=c, added_at=now) for c in joined], batch_size=500
    )
    SegmentMembership.objects.filter(segment_id=segment_id, contact_id__in=left).delete()
    SegmentMembershipEvent.objects.bulk_create(
        [SegmentMembershipEvent(segment_id=segment_id, contact_id=c, change=MembershipChange.JOINED, at=now)
         for c in joined]
        + [SegmentMembershipEvent(segment_id=segment_id, contact_id=c, change=MembershipChange.LEFT, at=now)
           for c in left],
        batch_size=500,
    )  # fmt: skip
    return len(joined), len(left)


@transaction.atomic
def static_segment_fill(*, segment: Segment, contact_ids=None, emails=None, definition=None) -> int:
    """Add contacts to a static segment: by ids, by emails (e.g. from a CSV), or once from a query."""
    from crm_core.addresses import normalize_email
    from crm_core.models import Contact

    if segment.kind != SegmentKind.STATIC:
        raise ValueError("only static segments are filled by hand")
    contacts = Contact.objects.none()
    if contact_ids is not None:
        contacts = Contact.objects.filter(pk__in=list(contact_ids))
    elif emails is not None:
        contacts = Contact.objects.filter(email__in=[e for e in map(normalize_email, emails) if e])
    elif definition is not None:
        contacts = contacts_queryset(_validated(definition, segment_id=segment.pk))
    now = timezone.now()
    before = SegmentMembership.objects.filter(segment=segment).count()
    SegmentMembership.objects.bulk_create(
        [
            SegmentMembership(segment=segment, contact_id=pk, added_at=now)
            for pk in contacts.values_list("pk", flat=True)
        ],
        ignore_conflicts=True,
        batch_size=2000,
    )
    segment.member_count = SegmentMembership.objects.filter(segment=segment).count()
    segment.refreshed_at = now
    segment.save(update_fields=["member_count", "refreshed_at"])
    return segment.member_count - before


def segment_members_add(*, segment_id: int, contact_ids, at=None) -> int:
    """Put contacts into a segment's stored membership (static segments, journey steps); logged."""
    at = at or timezone.now()
    with transaction.atomic():
        created = SegmentMembership.objects.bulk_create(
            [SegmentMembership(segment_id=segment_id, contact_id=c, added_at=at) for c in contact_ids],
            ignore_conflicts=True,
        )
        joined = [m.contact_id for m in created]
        _log_changes(segment_id, joined, MembershipChange.JOINED, at)
        Segment.objects.filter(pk=segment_id).update(
            member_count=SegmentMembership.objects.filter(segment_id=segment_id).count()
        )
    return len(joined)


def segment_members_remove(*, segment_id: int, contact_ids) -> int:
    """Take contacts out of a segment's stored membership; logged."""
    with transaction.atomic():
        leaving = list(
            SegmentMembership.objects.filter(segment_id=segment_id, contact_id__in=list(contact_ids))
            .select_for_update()
            .values_list("contact_id", flat=True)
        )
        SegmentMembership.objects.filter(segment_id=segment_id, contact_id__in=leaving).delete()
        _log_changes(segment_id, leaving, MembershipChange.LEFT, timezone.now())
        Segment.objects.filter(pk=segment_id).update(
            member_count=SegmentMembership.objects.filter(segment_id=segment_id).count()
        )
    return len(leaving)


def _log_changes(segment_id: int, contact_ids, change: str, at) -> None:
    SegmentMembershipEvent.objects.bulk_create(
        [
            SegmentMembershipEvent(segment_id=segment_id, contact_id=c, change=change, at=at)
            for c in contact_ids
        ]
    )


# --- Freshness ---------------------------------------------------------------------------------------


def segments_entities_changed(*, entities: set[str] | list[str]) -> None:
    """Tell live segments that rows of these entities changed (call after set-based writes).

    ORM saves and deletes of the CRM models call this through signal receivers (segments/apps.py).
    After the transaction commits, the entities are marked dirty and one coalesced refresh run is
    scheduled; a burst of changes makes one run, not one per change.
    """
    entities = set(entities)

    def mark_and_schedule():
        cache.set_many({DIRTY_KEY.format(entity=e): 1 for e in entities}, timeout=3600)
        if cache.add(SCHEDULED_KEY, 1, timeout=SCHEDULED_TTL_SECONDS):
            from .tasks import refresh_changed_segments_task

            refresh_changed_segments_task.apply_async(countdown=COALESCE_SECONDS)

    transaction.on_commit(mark_and_schedule)


def segments_refresh_changed() -> list[RefreshResult]:
    """Refresh the live dynamic segments that read an entity marked dirty since the last run."""
    from .compiler.registry import ENTITIES

    cache.delete(SCHEDULED_KEY)  # changes from now on schedule the next run
    dirty = {name for name in ENTITIES if cache.delete(DIRTY_KEY.format(entity=name))}
    if not dirty:
        return []
    live = Segment.objects.filter(status=SegmentStatus.LIVE, kind=SegmentKind.DYNAMIC).values_list(
        "pk", "entities"
    )
    return [segment_refresh(segment_id=pk) for pk, entities in live if dirty & set(entities or [])]


def segments_refresh_live() -> list[RefreshResult]:
    """Refresh every live dynamic segment (the periodic full refresh)."""
    live = Segment.objects.filter(status=SegmentStatus.LIVE, kind=SegmentKind.DYNAMIC).values_list(
        "pk", flat=True
    )
    return [segment_refresh(segment_id=pk) for pk in live]
