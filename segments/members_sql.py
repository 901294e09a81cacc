"""Stored membership changed by hand (static segments, journey steps), PostgreSQL: one statement
each way that changes the membership and logs the change together (ON CONFLICT skips members).

The portable ORM path of the same algorithm is members_portable.py (crm_core/sqlpath.py chooses).
"""

from __future__ import annotations

from django.db import connection

from .models import MembershipChange, SegmentMembership, SegmentMembershipEvent

_MEMBERS = SegmentMembership._meta.db_table
_EVENTS = SegmentMembershipEvent._meta.db_table


def members_join(segment_id: int, contact_ids: list[int], at) -> list[int]:
    """Make these contacts members; the ones that were not are logged as joining and returned."""
    sql = f"""
        WITH joined AS (
            INSERT INTO {_MEMBERS} (segment_id, contact_id, added_at)
            SELECT %(segment)s, wanted.id, %(at)s
            FROM (SELECT DISTINCT unnest(%(ids)s::bigint[]) AS id) wanted
            ON CONFLICT (segment_id, contact_id) DO NOTHING
            RETURNING contact_id
        ), logged AS (
            INSERT INTO {_EVENTS} (segment_id, contact_id, change, at)
            SELECT %(segment)s, contact_id, %(change)s, %(at)s FROM joined
        )
        SELECT contact_id FROM joined ORDER BY contact_id"""
    return _run(sql, segment_id, contact_ids, at, MembershipChange.JOINED)


def members_leave(segment_id: int, contact_ids: list[int], at) -> list[int]:
    """Take these contacts out; the ones that were members are logged as leaving and returned."""
    sql = f"""
        WITH gone AS (
            DELETE FROM {_MEMBERS} WHERE segment_id = %(segment)s AND contact_id = ANY(%(ids)s::bigint[])
            RETURNING contact_id
        ), logged AS (
            INSERT INTO {_EVENTS} (segment_id, contact_id, change, at)
            SELECT %(segment)s, contact_id, %(change)s, %(at)s FROM gone
        )
        SELECT contact_id FROM gone ORDER BY contact_id"""
    return _run(sql, segment_id, contact_ids, at, MembershipChange.LEFT)


def _run(sql: str, segment_id: int, contact_ids: list[int], at, change: str) -> list[int]:
    params = {"segment": segment_id, "ids": list(contact_ids), "at": at, "change": str(change)}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]
