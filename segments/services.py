"""Writes for segments: create/update with validation, refresh membership, freshness signalling."""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from crm_core import tasking

from .compiler import DefinitionError, contacts_queryset, validate_definition
from .models import (
    MembershipChange,
    Segment,
    SegmentKind,
    SegmentMembership,
    SegmentMembershipEvent,
    SegmentStatus,
)

# Refreshing is one of this app's writes: callers find it here with the others.
from .refresh import RefreshResult as RefreshResult
from .refresh import segment_refresh as segment_refresh

DIRTY_KEY = "segments:dirty:{entity}"
SCHEDULED_KEY = "segments:refresh-scheduled"
# Changes within this many seconds are folded into one refresh run.
COALESCE_SECONDS = 1
# A scheduled run holds off further scheduling this long at most (if its worker died, the next
# change after this schedules again; the periodic full refresh covers the rest).
SCHEDULED_TTL_SECONDS = 5


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
    transaction.on_commit(lambda: tasking.enqueue("segments.refresh", segment_id=segment_id))


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
            for pk in contacts.order_by().values_list("pk", flat=True)
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

    crm_core's change notices (crm_core/events.py) call this through segments/signals.py.
    After the transaction commits, the entities are marked dirty and one coalesced refresh run is
    scheduled; a burst of changes makes one run, not one per change.
    """
    entities = set(entities)

    def mark_and_schedule():
        cache.set_many({DIRTY_KEY.format(entity=e): 1 for e in entities}, timeout=3600)
        if cache.add(SCHEDULED_KEY, 1, timeout=SCHEDULED_TTL_SECONDS):
            tasking.enqueue_with("segments.refresh_changed", countdown=COALESCE_SECONDS)

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
