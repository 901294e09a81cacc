"""A segment's stored membership brought up to date from its definition: in full, or for some contacts.

- `segment_refresh`: the whole definition (the first fill of a definition, the periodic safety net,
  the "refresh now" button). It waits for the segment's refresh lock.
- `refresh_contacts_locked`: the definition AND `contact.id = ANY(ids)`, for a caller holding the
  lock (the incremental runs of freshness.py).

Both compare with the stored members in ONE statement, chosen by `crm_core.sqlpath`: refresh_sql.py
on PostgreSQL, refresh_portable.py elsewhere. After commit, the contacts that joined or left are
handed on to the live segments that reference this one with `in_segment` (`membership_changed`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from crm_core import sqlpath, tasking

from . import pending, refresh_portable, refresh_sql
from .compiler import contacts_queryset
from .live import live_index
from .models import Segment, SegmentKind
from .reads import FULL

# Joins and leaves of one refresh named by id up to this many (beyond: the dependents refresh in full).
CHANGED_LIMIT = 50_000
# A full refresh that added or removed this many members has the membership table analyzed after it
# commits (refresh_sql.membership_analyze: the increments' plans depend on it).
ANALYZE_AFTER_ROWS = 10_000


@dataclass
class RefreshResult:
    segment_id: int
    added: int = 0
    removed: int = 0
    seconds: float = 0.0
    skipped: str = ""
    changed: list[int] | None = field(default_factory=list)  # who joined or left (None: too many)
    full: bool = False  # the whole definition was evaluated (else: some contacts)
    contacts: int = 0  # contacts evaluated, when not in full


def refresh_lock(segment_id: int, *, wait: bool) -> bool:
    """The segment's refresh lock, held to the end of the transaction (one refresher per segment).
    The portable path serves the embedded default, whose database lets one writer in at a time."""
    return refresh_sql.refresh_lock(segment_id, wait=wait) if sqlpath.postgres_sql() else True


def refresh_locks_try(segment_ids: list[int]) -> list[int]:
    """Of these segments, those no other refresher holds, now held to the end of the transaction."""
    return refresh_sql.refresh_locks_try(segment_ids) if sqlpath.postgres_sql() else list(segment_ids)


def _membership_diff(
    *, changed_limit: int = CHANGED_LIMIT, **kwargs
) -> tuple[int, int, list[int] | None, int | None]:
    """(added, removed, changed, member count) by the path's ONE statement, which also stores the
    segment's member count (see refresh_sql.py)."""
    path = refresh_sql if sqlpath.postgres_sql() else refresh_portable
    return path.membership_diff(changed_limit=changed_limit, **kwargs)


def segment_refresh(*, segment_id: int) -> RefreshResult:
    """Bring the stored membership up to date: ONE statement evaluates the definition once, adds the
    new matches, removes the rest and logs each join and leave. Static segments keep their list."""
    started = time.perf_counter()
    with transaction.atomic():
        refresh_lock(segment_id, wait=True)
        segment = Segment.objects.filter(pk=segment_id).first()
        if segment is None:
            return RefreshResult(segment_id, skipped="deleted")
        if segment.kind == SegmentKind.STATIC:
            return RefreshResult(segment_id, skipped="static")
        return refresh_full_locked(segment, started=started)


def refresh_full_locked(segment: Segment, *, started: float, scores: dict | None = None) -> RefreshResult:
    now = timezone.now()
    # Who joined or left is named only for the segments that reference this one (`in_segment`): a
    # segment nobody references does not build and fetch the array (at a first fill, every member).
    referenced = bool(live_index().dependents.get(segment.pk))
    added, removed, changed, segment.member_count = _membership_diff(
        segment_id=segment.pk,
        members=contacts_queryset(segment.definition),
        now=now,
        contact_ids=None,
        changed_limit=CHANGED_LIMIT if referenced else 0,
    )
    segment.refreshed_at = now
    segment.refreshed_version = segment.version
    segment.last_refresh_added, segment.last_refresh_removed = added, removed
    segment.last_refresh_seconds = time.perf_counter() - started
    segment.save(
        update_fields=[
            "refreshed_at", "refreshed_version", "last_refresh_added", "last_refresh_removed",
            "last_refresh_seconds",
        ]
    )  # fmt: skip
    _hand_on_after_commit(segment.pk, changed, scores or {})
    if added + removed >= ANALYZE_AFTER_ROWS and sqlpath.postgres_sql():
        transaction.on_commit(refresh_sql.membership_analyze)
    return RefreshResult(
        segment.pk, added, removed, time.perf_counter() - started, changed=changed, full=True
    )


def refresh_contacts_locked(
    segment: Segment, contact_ids: list[int], *, started: float, scores: dict | None = None, served=()
) -> RefreshResult:
    """Re-evaluate the definition for these contacts only; the caller holds the refresh lock.
    `served`: dependents the caller hands the joins and leaves to itself (in the same transaction)."""
    added, removed, changed, member_count = _membership_diff(
        segment_id=segment.pk,
        members=contacts_queryset(segment.definition),
        now=timezone.now(),
        contact_ids=contact_ids,
    )
    if member_count is not None:
        segment.member_count = member_count
    _hand_on_after_commit(segment.pk, changed, scores or {}, served=served)
    seconds = time.perf_counter() - started
    return RefreshResult(segment.pk, added, removed, seconds, changed=changed, contacts=len(contact_ids))


def _hand_on_after_commit(
    segment_id: int, changed: list[int] | None, scores: dict[str, float], served=()
) -> None:
    def hand_on() -> None:
        membership_changed(segment_id=segment_id, contact_ids=changed, scores=scores, served=served)
        if pending.available() and pending.is_dirty(segment_id):
            pending.schedule_drain()  # work that arrived while this refresh held the lock

    transaction.on_commit(hand_on)


def membership_changed(
    *, segment_id: int, contact_ids: list[int] | None, scores: dict | None = None, served=()
) -> None:
    """These contacts joined or left the segment (None: too many to name): the live segments that
    reference it with `in_segment` must look at them again. Call after the change committed.

    `scores` carries when each change began (an anchor's time in the work that caused it), so the
    time to freshness of a dependent counts from the original change.
    """
    dependents = [pk for pk in live_index().dependents.get(segment_id, ()) if pk not in served]
    if not dependents or contact_ids == []:
        return
    if not pending.available():
        for dependent in dependents:
            tasking.enqueue("segments.refresh", segment_id=dependent)
        return
    scores = scores or {}
    oldest = min(scores.values(), default=None)
    anchors = {FULL} if contact_ids is None else {f"c:{pk}" for pk in contact_ids}
    at = scores.get(FULL, oldest)
    pending.add(dict.fromkeys(dependents, anchors), at=at, scores=scores)
