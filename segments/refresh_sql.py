"""PostgreSQL: a segment's stored membership brought up to date in ONE statement (see crm_core/sqlpath.py).

The definition is evaluated once, into a materialized CTE, unordered (an ORDER BY inside it would stop
the planner turning the removal's NOT EXISTS into an anti-join and make it re-run the definition per
member). From it, one INSERT ... ON CONFLICT DO NOTHING adds the new members, one DELETE ... NOT EXISTS
removes the members that no longer match, every join and leave is logged, and the segment's stored
member count is brought along, all in the same statement (one round trip): in full the count of the
matches, for some contacts the stored count plus joins minus leaves (that row is written only when
someone joined or left). With `contact_ids` the statement looks at those contacts only (`= ANY(%s)`
on both sides).
"""

from __future__ import annotations

from django.core.exceptions import EmptyResultSet
from django.db import connection

from .models import MembershipChange, Segment, SegmentMembership, SegmentMembershipEvent

_MEMBERS = SegmentMembership._meta.db_table
_EVENTS = SegmentMembershipEvent._meta.db_table
_SEGMENTS = Segment._meta.db_table


def membership_diff(
    *, segment_id: int, members, now, contact_ids: list[int] | None, changed_limit: int
) -> tuple[int, int, list[int] | None, int | None]:
    """(added, removed, the contacts that joined or left or None when more than `changed_limit`, the
    segment's member count now stored, None when the statement left it as it was)."""
    sql, params = diff_statement(
        segment_id=segment_id, members=members, now=now, contact_ids=contact_ids, changed_limit=changed_limit
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        added, removed, changed, member_count = cursor.fetchone()
    return added, removed, changed, member_count


def diff_statement(
    *, segment_id: int, members, now, contact_ids: list[int] | None, changed_limit: int
) -> tuple[str, list]:
    """The one statement of `membership_diff` and its parameters (bench freshness EXPLAINs it)."""
    try:
        sql, params = members.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:  # the definition can match nobody (e.g. a negated empty group)
        sql, params = "SELECT NULL::bigint WHERE false", ()
    matches, removal_scope = sql, ""
    scope_params: list = []
    # In full the members are the matches; for some contacts the stored count moves by the difference.
    count, count_only_if = "(SELECT count(*) FROM matches)", ""
    if contact_ids is not None:
        matches = f"SELECT d.id FROM ({sql}) d(id) WHERE d.id = ANY(%s)"
        removal_scope = "AND sm.contact_id = ANY(%s)"
        scope_params = [contact_ids]
        count = "s.member_count + (SELECT count(*) FROM added) - (SELECT count(*) FROM removed)"
        count_only_if = "AND EXISTS (SELECT FROM added UNION ALL SELECT FROM removed)"
    return (
        f"""
            WITH matches(id) AS MATERIALIZED ({matches}),
            added AS (
                INSERT INTO {_MEMBERS} (segment_id, contact_id, added_at)
                SELECT %s, m.id, %s FROM matches m
                ON CONFLICT (segment_id, contact_id) DO NOTHING
                RETURNING contact_id
            ),
            removed AS (
                DELETE FROM {_MEMBERS} sm
                WHERE sm.segment_id = %s {removal_scope}
                  AND NOT EXISTS (SELECT 1 FROM matches m WHERE m.id = sm.contact_id)
                RETURNING contact_id
            ),
            logged AS (
                INSERT INTO {_EVENTS} (segment_id, contact_id, change, at)
                SELECT %s, contact_id, %s, %s FROM added
                UNION ALL
                SELECT %s, contact_id, %s, %s FROM removed
            ),
            counted AS (
                UPDATE {_SEGMENTS} s SET member_count = {count}
                WHERE s.id = %s {count_only_if}
                RETURNING s.member_count
            ),
            counts(added, removed) AS (SELECT (SELECT count(*) FROM added), (SELECT count(*) FROM removed))
            SELECT added, removed,
                   CASE WHEN added + removed <= %s
                        THEN ARRAY(SELECT contact_id FROM added UNION ALL SELECT contact_id FROM removed) END,
                   (SELECT member_count FROM counted)
            FROM counts
            """,
        [
            *params, *scope_params,
            segment_id, now,
            segment_id, *scope_params,
            segment_id, MembershipChange.JOINED, now, segment_id, MembershipChange.LEFT, now,
            segment_id,
            changed_limit,
        ],
    )  # fmt: skip


def membership_analyze() -> None:
    """Fresh planner statistics of the membership table (after a full refresh moved many rows).

    An increment removes leavers with `segment_id = %s AND contact_id = ANY(%s)`; with statistics
    from before a big fill the planner takes the segment's members for a handful of rows and reads
    them all, filtering by contact (4 s for 100 contacts of a segment of 960,000 members at a
    million contacts, against milliseconds by key once analyzed). Autovacuum gets there too, late.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {_MEMBERS}")


# The advisory-lock class of segment refreshes (the segment id is the object): one refresher per segment.
LOCK_CLASS = 7401


def refresh_lock(segment_id: int, *, wait: bool) -> bool:
    """Take the segment's refresh lock until the transaction ends; `wait=False`: only if it is free."""
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_CLASS, segment_id])
            return True
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [LOCK_CLASS, segment_id])
        return cursor.fetchone()[0]


def refresh_locks_try(segment_ids: list[int]) -> list[int]:
    """Of these segments, those whose refresh lock was free, now held to the end of the transaction
    (one statement; the order is kept)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM unnest(%s::bigint[]) WITH ORDINALITY AS s(id, n)"
            " WHERE pg_try_advisory_xact_lock(%s, id::integer) ORDER BY n",
            [segment_ids, LOCK_CLASS],
        )
        return [row[0] for row in cursor.fetchall()]
