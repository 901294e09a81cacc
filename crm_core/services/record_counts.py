"""Folding the record counts' deltas (crm_core/models/counts.py) into one row per key.

The triggers of migration 0015 add a delta row per key and write statement; the counts stay exact
without this, it only keeps the rows the dashboard sums few. One statement: delete the rows of every
key that has a delta and insert their sums (keys summing to 0 disappear). A delta committed while it
runs is not in its snapshot and waits for the next run; two runs never fold the same rows (the
advisory lock, and a DELETE skips rows another DELETE removed), so every delta is counted once.
PostgreSQL only: the portable path keeps no counts.
"""

from django.db import connection, transaction

from ..sqlpath import postgres_sql

# pg_try_advisory_xact_lock key: one compaction at a time ("rc" in ASCII, then a number).
COMPACT_LOCK = 0x7263_0013

COMPACT_SQL = """
WITH keys AS (
    SELECT DISTINCT entity, day, status, coalesce(score_bucket, -1) AS bucket, flag
    FROM crm_core_record_count WHERE NOT compact
), folded AS (
    DELETE FROM crm_core_record_count r USING keys k
    WHERE r.day = k.day AND r.entity = k.entity AND r.status = k.status
      AND coalesce(r.score_bucket, -1) = k.bucket AND r.flag = k.flag
    RETURNING r.entity, r.day, r.status, r.score_bucket, r.flag, r.n
), inserted AS (
    INSERT INTO crm_core_record_count (entity, day, status, score_bucket, flag, n, compact)
    SELECT entity, day, status, score_bucket, flag, sum(n), true FROM folded
    GROUP BY entity, day, status, score_bucket, flag HAVING sum(n) <> 0
    RETURNING 1
)
SELECT (SELECT count(*) FROM folded), (SELECT count(*) FROM inserted)
"""


def record_counts_compact() -> dict:
    """Fold the deltas: {"folded": rows removed, "kept": sums written} (both 0 when there was nothing
    to do, another run was busy, or this path keeps no counts)."""
    if not postgres_sql():
        return {"folded": 0, "kept": 0}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [COMPACT_LOCK])
        if not cursor.fetchone()[0]:
            return {"folded": 0, "kept": 0}
        cursor.execute(COMPACT_SQL)
        folded, kept = cursor.fetchone()
        return {"folded": folded, "kept": kept}
