"""The tick (beat runs it every JOURNEYS_TICK_SECONDS): exits and entry for each live journey,
then the due enrollments leased and handed to workers in batches, then the outbox swept.

Safe to run twice at once: journeys are locked while entering, due enrollments are leased with
SKIP LOCKED, and every worker re-checks under its own row locks (`runner.py`). A lease is only a hint
that a worker has the batch; one older than JOURNEYS_DISPATCH_LEASE_SECONDS is taken over (its
worker died). The lease statements are in `dispatch_sql.py` and `dispatch_portable.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from crm_core import sqlpath, tasking

from ..models import Journey, JourneyStatus
from . import dispatch_portable, dispatch_sql, outbox, runner, sending
from .conf import setting
from .entry import enter_contacts
from .exits import apply_exits

DEFAULT_BATCH_SIZE = 1000
LEASE_MAX = 20_000  # enrollments one lease statement of the tick may take


@dataclass
class TickReport:
    entered: int = 0
    exited: int = 0
    dispatched: int = 0
    released_claims: int = 0
    resent: int = 0


def journeys_tick(
    *, now: datetime | None = None, batch_size: int | None = None, inline: bool = False
) -> TickReport:
    """Enter, exit, hand due enrollments to workers in batches, and sweep the outbox. `inline` runs
    the batches in this process instead of enqueueing them (tests, debugging)."""
    now = now or timezone.now()
    batch_size = batch_size or setting("JOURNEYS_BATCH_SIZE", DEFAULT_BATCH_SIZE)
    report = TickReport(released_claims=outbox.release_dead_claims())
    for journey_id in Journey.objects.filter(status=JourneyStatus.LIVE).values_list("id", flat=True):
        _exit_and_enter(journey_id, now, report)
    report.dispatched = _dispatch_due(now=now, batch_size=batch_size, inline=inline)
    report.resent = _sweep_outbox(now=now, batch_size=batch_size, inline=inline)
    return report


def _exit_and_enter(journey_id: int, now: datetime, report: TickReport) -> None:
    """Exits, then entry, of one live journey, and its cursor moved to `now`, in one transaction."""
    with transaction.atomic():
        # FOR NO KEY UPDATE: overlapping ticks exclude each other, but workers inserting rows that
        # reference the journey (their foreign-key checks take KEY SHARE) are not blocked, so a
        # tick waiting on a worker's rows can never deadlock with that worker.
        journey = (
            Journey.objects.select_for_update(skip_locked=True, no_key=True)
            .filter(pk=journey_id, status=JourneyStatus.LIVE)
            .first()
        )
        if journey is None:  # another tick is on it, or it stopped meanwhile
            return
        report.exited += apply_exits(journey=journey, now=now)
        report.entered += enter_contacts(journey=journey, now=now)
        journey.entry_cursor = now
        journey.save(update_fields=["entry_cursor"])


def _dispatch_due(*, now: datetime, batch_size: int, inline: bool) -> int:
    """Lease in growing chunks (one batch first, so workers start at once, then doubling up to
    LEASE_MAX), each continuing behind the last in the due index's order; hand each chunk over in
    batches. A chunk's statement looks at the due rows still ahead, so few big chunks beat many
    small ones. Returns how many enrollments were leased."""
    limit = setting("JOURNEYS_TICK_MAX_DISPATCH", 200_000)
    dispatched, size, after = 0, batch_size, None
    while dispatched < limit:
        leased = lease_due(now=now, limit=min(size, limit - dispatched), after=after)
        if not leased:
            break
        after = leased[-1]
        dispatched += len(leased)
        size = min(2 * size, max(batch_size, LEASE_MAX))
        for start in range(0, len(leased), batch_size):
            chunk = sorted(enrollment_id for _, enrollment_id in leased[start : start + batch_size])
            if inline:
                runner.enrollments_run(enrollment_ids=chunk, now=now)
            else:
                tasking.enqueue("journeys.run_batch", chunk)
    return dispatched


def _sweep_outbox(*, now: datetime, batch_size: int, inline: bool) -> int:
    """Send, in batches, the emails pending for longer than JOURNEYS_OUTBOX_SWEEP_SECONDS (their
    sender failed, or the backend refused them for now). Returns how many."""
    sweep_age = timedelta(seconds=setting("JOURNEYS_OUTBOX_SWEEP_SECONDS", 120))
    pending = outbox.pending_outbox_ids(older_than=now - sweep_age, limit=50_000)
    for start in range(0, len(pending), batch_size):
        chunk = pending[start : start + batch_size]
        if inline:
            sending.send_outbox(outbox_ids=chunk)
        else:
            tasking.enqueue("journeys.send_outbox", chunk)
    return len(pending)


def lease_due(*, now: datetime, limit: int, after: tuple[datetime, int] | None = None) -> list[tuple]:
    """Lease up to `limit` due enrollments of live journeys to this tick (skipping rows a worker holds);
    a lease older than JOURNEYS_DISPATCH_LEASE_SECONDS is taken over (its worker died). Returns
    (next_run_at, id) of each, in that order: pass the last one as `after` to continue behind it
    (the due index is in that order, so a tick's chunks do not scan what it leased already)."""
    lease = timedelta(seconds=setting("JOURNEYS_DISPATCH_LEASE_SECONDS", 600))
    statements = dispatch_sql if sqlpath.postgres_sql() else dispatch_portable
    return statements.lease_due(now=now, limit=limit, after=after, lease=lease)
