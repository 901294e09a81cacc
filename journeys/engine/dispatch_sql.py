"""Leasing due enrollments on PostgreSQL: one UPDATE over a SKIP LOCKED sub-select on the due index."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection, transaction


def lease_due(
    *, now: datetime, limit: int, after: tuple[datetime, int] | None, lease: timedelta
) -> list[tuple]:
    """A lease is only a hint that a worker has the batch (the worker re-checks under row locks), so
    it is committed without waiting for the WAL flush: a database crash can at worst hand a batch out
    twice, and the second hand-out finds nothing to do."""
    behind, params = "", []
    if after is not None:
        behind, params = "AND (e.next_run_at, e.id) > (%s, %s)", list(after)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO off")
        cursor.execute(
            f"""UPDATE journeys_enrollment SET dispatched_at = %s WHERE id IN (
                   SELECT e.id FROM journeys_enrollment e JOIN journeys_journey j ON j.id = e.journey_id
                   WHERE e.state IN ('active', 'waiting') AND e.next_run_at <= %s AND j.status = 'live'
                     AND (e.dispatched_at IS NULL OR e.dispatched_at < %s) {behind}
                   ORDER BY e.next_run_at, e.id LIMIT %s
                   FOR UPDATE OF e SKIP LOCKED)
               RETURNING next_run_at, id""",
            [now, now, now - lease, *params, limit],
        )
        return sorted(cursor.fetchall())
