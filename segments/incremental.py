"""The incremental run (task `segments.refresh_pending`): the pending work of live segments done.

A run makes a few passes. Each pass:
1. takes, in ONE transaction, the refresh locks of the segments with pending increments that no
   other refresher holds (`pg_try_advisory_xact_lock`: a busy segment is skipped, its refresher
   comes back for what arrives meanwhile), takes their pending anchors atomically (pending.take),
   turns the anchors into contact ids (set-based lookups for accounts) and, segment by segment in
   dependency order, evaluates `definition AND contact.id = ANY(ids)` against the stored membership
   in one statement. A segment that references another one of the same pass also evaluates the
   contacts that just joined or left that one (the transaction sees them), so an `in_segment` chain
   follows in one pass. One commit for the pass; then joins and leaves are handed on to the other
   dependents (refresh.membership_changed) and the taken work is dropped.
2. evaluates at most one segment in full (asked for, a new definition, more than
   INCREMENTAL_MAX_CONTACTS contacts), in a transaction of its own.

If the pass fails, everything it took goes back into the pending work (pending.restore); if the
process dies, the next holder of a segment's lock takes the work it left behind (nothing is lost).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction

from crm_core.models import Contact

from . import pending
from .compiler.registry import ENTITIES
from .live import LiveIndex, live_index
from .models import Segment, SegmentKind, SegmentStatus
from .reads import FULL
from .refresh import (
    RefreshResult,
    refresh_contacts_locked,
    refresh_full_locked,
    refresh_lock,
    refresh_locks_try,
)

# A run makes this many passes over the segments with work, for this long at most, then leaves the
# rest to the next run (so other tasks get a worker process in between).
DRAIN_PASSES = 3
DRAIN_SECONDS = 5.0
# Beyond this many contacts, one evaluation of the whole definition is cheaper.
INCREMENTAL_MAX_CONTACTS = 100_000
_CHUNK = 10_000


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


def _is_live(segment: Segment | None) -> bool:
    return (
        segment is not None and segment.status == SegmentStatus.LIVE and segment.kind == SegmentKind.DYNAMIC
    )


class _Pass:
    """The increments of one pass, in one transaction (see the module's docstring)."""

    def __init__(self, index: LiveIndex):
        self.index = index
        self.results: list[RefreshResult] = []
        self.works: dict[int, dict[str, float]] = {}
        self.carried: dict[int, set[int]] = {}  # contacts a referenced segment of this pass changed
        self.needs_full: dict[int, float | None] = {}
        self.gone: list[int] = []

    def run(self, segment_ids: list[int]) -> list[RefreshResult]:
        started = time.perf_counter()
        try:
            with transaction.atomic():
                locked = refresh_locks_try(segment_ids)
                self.works = pending.take_many(locked)
                segments = Segment.objects.in_bulk(locked)
                for position, segment_id in enumerate(locked):
                    self._segment(segments.get(segment_id), segment_id, set(locked[position + 1 :]), started)
                transaction.on_commit(self._finish)
        except Exception:
            for segment_id in self.works:
                pending.restore(segment_id)  # nothing taken is lost: it is pending again
            raise
        return self.results

    def _segment(self, segment: Segment | None, segment_id: int, later: set[int], started: float) -> None:
        work, carried = self.works.get(segment_id, {}), self.carried.pop(segment_id, set())
        if not _is_live(segment):
            self.gone.append(segment_id)
            return
        if not work and not carried:
            return
        oldest = min(work.values(), default=None)
        if FULL in work or segment.refreshed_version != segment.version:
            self.needs_full[segment_id] = oldest
            return
        contact_ids = set(contacts_of(work)) | carried
        if len(contact_ids) > INCREMENTAL_MAX_CONTACTS:
            self.needs_full[segment_id] = oldest
            return
        if not contact_ids:
            return
        served = set(self.index.dependents.get(segment_id, ())) & later
        result = refresh_contacts_locked(
            segment, sorted(contact_ids), started=started, scores=work, served=served
        )
        self.results.append(result)
        for dependent in served:
            if result.changed is None:
                self.needs_full[dependent] = oldest
            else:
                self.carried.setdefault(dependent, set()).update(result.changed)

    def _finish(self) -> None:
        finished = time.time()
        for segment_id, oldest in self.needs_full.items():
            pending.add({segment_id: {FULL}}, at=oldest)
        for segment_id in self.gone:
            pending.forget(segment_id)
        evaluated = [r for r in self.results if not r.full]
        samples = [at for r in evaluated for at in self.works.get(r.segment_id, {}).values()]
        contacts = sum(r.contacts for r in evaluated)
        pending.done_many(
            list(self.works),
            samples=samples,
            finished=finished,
            incremental=len(evaluated),
            contacts=contacts,
        )


def _evaluate_alone(segment: Segment, work: dict[str, float], started: float) -> RefreshResult:
    if not work:
        return RefreshResult(segment.pk, skipped="nothing pending")
    if FULL not in work and segment.refreshed_version == segment.version:
        contact_ids = contacts_of(work)
        if not contact_ids:
            return RefreshResult(segment.pk, skipped="no contacts")
        if len(contact_ids) <= INCREMENTAL_MAX_CONTACTS:
            return refresh_contacts_locked(segment, contact_ids, started=started, scores=work)
    return refresh_full_locked(segment, started=started, scores=work)


def segment_refresh_pending(*, segment_id: int) -> RefreshResult | None:
    """Do one segment's pending work in a transaction of its own (in full when that is what it needs),
    unless another refresher holds it (then None)."""
    started = time.perf_counter()
    try:
        with transaction.atomic():
            if not refresh_lock(segment_id, wait=False):
                return None
            work = pending.take(segment_id)
            segment = Segment.objects.filter(pk=segment_id).first()
            if not _is_live(segment):
                transaction.on_commit(lambda: pending.forget(segment_id))
                return RefreshResult(segment_id, skipped="not live")
            result = _evaluate_alone(segment, work, started)
            counted = not result.skipped
            transaction.on_commit(
                lambda: pending.done_many(
                    [segment_id], samples=list(work.values()) if counted else [], finished=time.time(),
                    full=int(counted and result.full), incremental=int(counted and not result.full),
                    contacts=result.contacts,
                )
            )  # fmt: skip
    except Exception:
        pending.restore(segment_id)  # nothing taken is lost: it is pending again
        raise
    return result


def _ranked(index: LiveIndex, segment_ids: set[int]) -> list[int]:
    return sorted(segment_ids, key=lambda pk: (index.rank.get(pk, 0), pk))


def segments_refresh_pending(
    *, seconds: float = DRAIN_SECONDS, passes: int = DRAIN_PASSES
) -> list[RefreshResult]:
    """Work through the segments with pending work (see the module's docstring); a few passes and
    `seconds` at most, then the worker process is free for other tasks, and what arrived meanwhile
    has scheduled the next run."""
    cache.delete(pending.SCHEDULED_KEY)  # changes from now on schedule the next run
    results: list[RefreshResult] = []
    deadline = time.monotonic() + seconds
    for _ in range(passes):
        index = live_index()
        waiting = pending.dirty() | pending.left_behind(index.segments)
        if not waiting:
            break
        full = pending.full_requested(waiting)
        increments = _ranked(index, waiting - full)
        done = _Pass(index).run(increments) if increments else []
        results += done
        progressed = bool(done)
        for segment_id in _ranked(index, full):  # one full evaluation per pass, after the increments
            result = segment_refresh_pending(segment_id=segment_id)
            if result is not None:
                results.append(result)
                progressed = True
                break
        if not progressed or time.monotonic() >= deadline:
            break
    if pending.dirty():
        pending.schedule_drain()
    return results
