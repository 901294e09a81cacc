"""Keeping live segments current while CRM records change.

With Redis (the server deployment):
1. `records_changed(change)` (segments/signals.py, after each commit): for every live dynamic segment
   whose definition reads the changed entity, what must be re-evaluated (reads.change_anchors: these
   contacts, the contacts of these accounts, ...) joins the segment's pending work (pending.py) and
   one coalesced run is scheduled. Nothing is evaluated yet, so a burst costs one run.
2. The run (incremental.py, task `segments.refresh_pending`) takes each segment's work atomically
   under its refresh lock (skipping segments another worker holds) and evaluates
   `definition AND contact.id = ANY(ids)` against the stored membership in one statement; in full
   when asked (a new definition, a notice that does not say which records, too many contacts).
3. Joins and leaves become pending work of the segments that reference this one with `in_segment`
   (refresh.membership_changed), reached later in dependency order.
4. `segments_refresh_relative()` (beat): definitions with relative time are evaluated in full when
   their windows moved enough (reads.relative_schedule).
5. `segments_refresh_live()` (beat): every live segment in full, the safety net.

Without Redis (the embedded default): a notice marks its entity dirty in the cache and one coalesced
`segments.refresh_changed` run refreshes in full each live segment that reads a dirty entity.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from crm_core import tasking
from crm_core.events import RecordsChanged

from . import pending
from .compiler.registry import ENTITIES
from .live import live_index
from .models import Segment
from .reads import FULL, RelativeSchedule, change_anchors
from .refresh import RefreshResult, segment_refresh

DIRTY_KEY = "segments:dirty:{entity}"


def records_changed(change: RecordsChanged) -> None:
    """Hand a committed change to the live segments it may concern (see the module's docstring)."""
    if not pending.available():
        segments_entities_changed(entities={change.entity})
        return
    work = {}
    for segment in live_index().segments.values():
        anchors: set[str] = set()
        for read in segment.reads:
            anchors |= change_anchors(read, segment.root, change)
        if anchors:
            work[segment.id] = {FULL} if FULL in anchors else anchors
    if work:
        pending.add(work)


def request_full(segment_ids: Iterable[int]) -> None:
    """Evaluate these segments in full soon (call after the change that needs it committed)."""
    ids = list(segment_ids)
    if not pending.available():
        for segment_id in ids:
            tasking.enqueue("segments.refresh", segment_id=segment_id)
    elif ids:
        pending.add(dict.fromkeys(ids, {FULL}))


# --- Relative time and the safety net ---------------------------------------------------------------


def _due(schedule: RelativeSchedule, refreshed_at, now) -> bool:
    if refreshed_at is None or (now - refreshed_at).total_seconds() >= schedule.seconds:
        return True
    return schedule.by_day and timezone.localdate(refreshed_at) != timezone.localdate(now)


def segments_refresh_relative(*, now=None) -> list[int]:
    """Ask a full evaluation of each live segment whose relative-time windows moved enough since its
    last one; returns their ids."""
    now = now or timezone.now()
    scheduled = {pk: s.schedule for pk, s in live_index(fresh=True).segments.items() if s.schedule}
    refreshed = dict(Segment.objects.filter(pk__in=list(scheduled)).values_list("pk", "refreshed_at"))
    due = sorted(pk for pk, schedule in scheduled.items() if _due(schedule, refreshed.get(pk), now))
    request_full(due)
    return due


def _in_dependency_order(index) -> list[int]:
    return sorted(index.segments, key=lambda pk: (index.rank.get(pk, 0), pk))


def segments_refresh_live() -> list[RefreshResult]:
    """Refresh every live dynamic segment in full (the periodic safety net), referenced ones first."""
    return [segment_refresh(segment_id=pk) for pk in _in_dependency_order(live_index(fresh=True))]


# --- Without Redis: whole entities marked dirty ---------------------------------------------------


def segments_entities_changed(*, entities: set[str] | list[str]) -> None:
    """Tell live segments that rows of these entities changed (the path without Redis).

    After the transaction commits, the entities are marked dirty and one coalesced refresh run is
    scheduled; a burst of changes makes one run, not one per change.
    """
    entities = set(entities)

    def mark_and_schedule():
        cache.set_many({DIRTY_KEY.format(entity=e): 1 for e in entities}, timeout=3600)
        if cache.add(pending.SCHEDULED_KEY, 1, timeout=pending.SCHEDULED_TTL_SECONDS):
            tasking.enqueue_with("segments.refresh_changed", countdown=pending.COALESCE_SECONDS)

    transaction.on_commit(mark_and_schedule)


def segments_refresh_changed() -> list[RefreshResult]:
    """Refresh in full the live dynamic segments that read an entity marked dirty since the last run."""
    cache.delete(pending.SCHEDULED_KEY)  # changes from now on schedule the next run
    dirty = {name for name in ENTITIES if cache.delete(DIRTY_KEY.format(entity=name))}
    if not dirty:
        return []
    index = live_index(fresh=True)
    return [
        segment_refresh(segment_id=pk)
        for pk in _in_dependency_order(index)
        if dirty & {read.entity for read in index.segments[pk].reads}
    ]
