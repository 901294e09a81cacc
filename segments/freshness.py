"""Keeping live segments current while CRM records change.

With Redis (the server deployment):
1. `records_changed(change)` (segments/signals.py, after each commit): for every live dynamic segment
   whose definition reads the changed entity, what must be re-evaluated (reads.change_anchors: these
   contacts, the contacts of these accounts, ...) joins the segment's pending work (pending.py) and
   one coalesced run is scheduled. Nothing is evaluated yet, so a burst costs one run.
2. `segments_refresh_pending()` (task `segments.refresh_pending`): each segment with pending work, in
   dependency order, goes through `segment_refresh_pending`: take the segment's refresh lock without
   waiting (a segment another worker is refreshing is skipped; that worker comes back for it), take
   the pending anchors atomically, turn them into contact ids (set-based lookups for accounts) and
   evaluate `definition AND contact.id = ANY(ids)` against the stored membership in one statement
   (refresh.refresh_contacts_locked). In full instead when asked (a new definition, a notice that
   does not say which records, more than INCREMENTAL_MAX_CONTACTS contacts).
3. Joins and leaves become pending work of the segments that reference this one with `in_segment`
   (refresh.membership_changed), which the same run reaches later in dependency order.
4. `segments_refresh_relative()` (beat): definitions with relative time are evaluated in full when
   their windows moved enough (reads.relative_schedule).
5. `segments_refresh_live()` (beat): every live segment in full, the safety net.

Without Redis (the embedded default): a notice marks its entity dirty in the cache and one coalesced
`segments.refresh_changed` run refreshes in full each live segment that reads a dirty entity.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from crm_core import tasking
from crm_core.events import RecordsChanged
from crm_core.models import Contact

from . import pending
from .compiler.registry import ENTITIES
from .live import live_index
from .models import Segment, SegmentKind, SegmentStatus
from .reads import FULL, RelativeSchedule, change_anchors
from .refresh import (
    RefreshResult,
    refresh_contacts_locked,
    refresh_full_locked,
    refresh_lock,
    segment_refresh,
)

DIRTY_KEY = "segments:dirty:{entity}"
# One run works this long at most, then leaves the rest to the next run (other tasks get a worker).
DRAIN_SECONDS = 10.0
# Beyond this many contacts, one evaluation of the whole definition is cheaper.
INCREMENTAL_MAX_CONTACTS = 100_000
_CHUNK = 10_000


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


# --- The incremental run --------------------------------------------------------------------------


def _values_in(queryset, lookup: str, ids: set[int], column: str) -> set[int]:
    found: set[int] = set()
    ordered = sorted(ids)
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        found.update(queryset.filter(**{f"{lookup}__in": chunk}).values_list(column, flat=True))
    found.discard(None)
    return found


def contacts_of(anchors: Iterable[str]) -> list[int]:
    """The contact ids pending anchors stand for (accounts and rows' accounts looked up set-based)."""
    contacts: set[int] = set()
    accounts: set[int] = set()
    rows: dict[str, set[int]] = {}
    for anchor in anchors:
        kind, _, rest = anchor.partition(":")
        if kind == "c":
            contacts.add(int(rest))
        elif kind == "a":
            accounts.add(int(rest))
        elif kind == "v":
            entity, _, pk = rest.partition(":")
            rows.setdefault(entity, set()).add(int(pk))
    for entity, ids in rows.items():
        key = next(r.inner for r in ENTITIES["account"].relationships.values() if r.target == entity)
        accounts |= _values_in(ENTITIES[entity].model.objects.order_by(), "pk", ids, key)
    if accounts:
        contacts |= _values_in(Contact.objects.order_by(), "parent_account_id", accounts, "pk")
    return sorted(contacts)


def _refresh_taken(segment_id: int, work: dict[str, float], started: float) -> RefreshResult:
    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is None or segment.status != SegmentStatus.LIVE or segment.kind != SegmentKind.DYNAMIC:
        transaction.on_commit(lambda: pending.forget(segment_id))
        return RefreshResult(segment_id, skipped="not live")
    if not work:
        return RefreshResult(segment_id, skipped="nothing pending")
    if FULL not in work and segment.refreshed_version == segment.version:
        contact_ids = contacts_of(work)
        if len(contact_ids) <= INCREMENTAL_MAX_CONTACTS:
            return refresh_contacts_locked(segment, contact_ids, started=started, scores=work)
    return refresh_full_locked(segment, started=started, scores=work)


def segment_refresh_pending(*, segment_id: int) -> RefreshResult | None:
    """Do the segment's pending work, unless another refresher holds it (then None)."""
    started = time.perf_counter()
    try:
        with transaction.atomic():
            if not refresh_lock(segment_id, wait=False):
                return None
            work = pending.take(segment_id)
            result = _refresh_taken(segment_id, work, started)

            def finish() -> None:
                pending.done(segment_id)
                pending.record_freshness(work.values(), finished=time.time())

            transaction.on_commit(finish)
    except Exception:
        pending.restore(segment_id)  # nothing taken is lost: it is pending again
        raise
    return result


def segments_refresh_pending(*, seconds: float = DRAIN_SECONDS) -> list[RefreshResult]:
    """Work through the segments with pending work, in dependency order (a full evaluation after the
    increments waiting beside it); for `seconds` at most, then schedule the next run."""
    cache.delete(pending.SCHEDULED_KEY)  # changes from now on schedule the next run
    results: list[RefreshResult] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        index = live_index()
        waiting = pending.dirty() | pending.left_behind(index.segments)
        if not waiting:
            break
        full = pending.full_requested(waiting)
        progressed = False
        for segment_id in sorted(waiting, key=lambda pk: (pk in full, index.rank.get(pk, 0), pk)):
            result = segment_refresh_pending(segment_id=segment_id)
            if result is None:
                continue  # another worker refreshes it and comes back for what arrives meanwhile
            progressed = True
            results.append(result)
            if result.full or time.monotonic() >= deadline:
                break
        if not progressed:
            break
    if pending.dirty():
        pending.schedule_drain()
    return results


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
