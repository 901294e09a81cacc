"""Lead scoring's writes to leads: scores copied onto leads, the sales-ready hand-off and the return.

Lead scoring decides (scores, who is handed off, to which owner); these functions make the writes to
`crm_core_lead` and `crm_core_leadstatuschange`, and announce them with `events.LEAD` / `UPDATED`.
They run inside the caller's transaction (the recompute's) and are set-based on both paths:

- PostgreSQL: the caller passes `SqlRows`, a SELECT (or a table name) over its own tables with its
  params; one UPDATE ... FROM it runs here, so the rows never leave the database (the daily
  recompute covers ~2M leads). The SQL is built by the caller's code, never from user input.
- Other databases (the embedded SQLite default, demo-sized): the caller passes the rows as a list
  of tuples; the changed ones are written with bulk_update / bulk_create a chunk at a time.

Each function returns how many leads it changed. The notice names the changed leads and their
contacts; past `NOTICE_MAX_IDS` (a first recompute of every lead) it says ids=None ("any lead"),
so a huge id set is neither fetched into Python nor handed to subscribers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction

from .. import events, sqlpath
from ..models import Lead, LeadStatus, LeadStatusChange
from .sql import SqlRows

NOTICE_MAX_IDS = 10_000
_CHUNK = 500  # ids per `IN (...)` on the portable path: SQLite limits the parameters of a statement
_LEAD = Lead._meta.db_table
_STATUS_CHANGE = LeadStatusChange._meta.db_table
# Statuses scoring may hand off from: the lifecycle's "mark marketing qualified" transition.
HAND_OFF_FROM = (LeadStatus.NEW.value, LeadStatus.NURTURE.value)

_atomic = transaction.atomic(savepoint=False)


@dataclass(frozen=True)
class _Changed:
    count: int
    ids: list[int] | None
    contact_ids: list[int] | None


def _run_returning(update_sql: str, params: Sequence) -> _Changed:
    """Run `update_sql` (a WITH list whose `changed` returns id, contact_id) and fetch at most
    NOTICE_MAX_IDS + 1 of its rows with the total; the statement itself always runs to completion."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"{update_sql} SELECT id, contact_id, (SELECT count(*) FROM changed) FROM changed LIMIT %s",
            [*params, NOTICE_MAX_IDS + 1],
        )
        rows = cursor.fetchall()
    if not rows:
        return _Changed(0, [], [])
    if rows[0][2] > NOTICE_MAX_IDS:
        return _Changed(rows[0][2], None, None)
    return _Changed(rows[0][2], [row[0] for row in rows], [row[1] for row in rows])


def _announce(changed: _Changed, fields: list[str]) -> int:
    if changed.count:
        events.records_changed_on_commit(
            entity=events.LEAD,
            action=events.UPDATED,
            ids=changed.ids,
            contact_ids=changed.contact_ids,
            fields=fields,
        )
    return changed.count


def _require_postgresql() -> None:
    """SqlRows are the PostgreSQL path's input (`crm_core.sqlpath`); the portable path takes tuples."""
    if not sqlpath.postgres_sql():
        raise ValueError(f"SqlRows needs PostgreSQL; pass the rows as tuples on {connection.vendor}")


def _chunks(items: list):
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _current(ids: list[int], *fields: str) -> dict[int, tuple]:
    """{lead id: (fields...)} of these leads, read a chunk at a time (the portable path)."""
    return {
        pk: tuple(values)
        for chunk in _chunks(ids)
        for pk, *values in Lead.objects.filter(pk__in=chunk).values_list("pk", *fields)
    }


def _contact_ids(ids: list[int]) -> list[int]:
    return [contact_id for (contact_id,) in _current(ids, "parent_contact_id").values()]


def _portable_changed(ids: list[int]) -> _Changed:
    if len(ids) > NOTICE_MAX_IDS:
        return _Changed(len(ids), None, None)
    return _Changed(len(ids), ids, _contact_ids(ids))


# --- Scores ----------------------------------------------------------------------------------


@_atomic
def leads_scores_apply(*, scores: SqlRows | Iterable[tuple[int, int, str, bool]]) -> int:
    """Copy scores onto leads where score, grade or sales_ready differ; returns the leads changed.

    `scores`: rows (lead_id, score, grade, sales_ready), e.g. the primary model's score table.
    The lead's own copy is what segments, lists and the UI read, so it is written only here.
    """
    if isinstance(scores, SqlRows):
        _require_postgresql()
        changed = _run_returning(
            f"""
            WITH changed AS (
                UPDATE {_LEAD} l SET score = s.score, grade = s.grade, sales_ready = s.sales_ready
                FROM {scores.relation()} s(lead_id, score, grade, sales_ready)
                WHERE l.id = s.lead_id
                  AND (l.score, l.grade, l.sales_ready) IS DISTINCT FROM (s.score, s.grade, s.sales_ready)
                RETURNING l.id, l.parentcontactid AS contact_id
            )""",
            scores.params,
        )
    else:
        changed = _scores_apply_portable(list(scores))
    return _announce(changed, ["score", "grade", "sales_ready"])


def _scores_apply_portable(rows: list[tuple[int, int, str, bool]]) -> _Changed:
    new = {lead_id: (score, grade, ready) for lead_id, score, grade, ready in rows}
    stored = _current(sorted(new), "score", "grade", "sales_ready")
    leads = [
        Lead(pk=pk, score=new[pk][0], grade=new[pk][1], sales_ready=new[pk][2])
        for pk in sorted(stored)
        if stored[pk] != new[pk]
    ]
    Lead.objects.bulk_update(leads, ["score", "grade", "sales_ready"], batch_size=_CHUNK)
    return _portable_changed([lead.pk for lead in leads])


# --- The sales-ready hand-off ------------------------------------------------------------------


@_atomic
def leads_hand_off(
    *, leads: SqlRows | Iterable[tuple[int, str, int | None]], reason: str, now: datetime
) -> int:
    """Move leads to marketing_qualified with the owner scoring chose, each recorded in
    LeadStatusChange with `reason` at `now`; returns the leads moved.

    `leads`: rows (lead_id, from_status, owner_id), from_status being the status the caller read
    (new or nurture) with the lead locked. A lead whose status is no longer that is left alone.
    """
    mq = LeadStatus.MARKETING_QUALIFIED.value
    if isinstance(leads, SqlRows):
        _require_postgresql()
        changed = _run_returning(
            f"""
            WITH moved AS (
                UPDATE {_LEAD} l SET status = %s, owner_id = h.owner_id, updated_at = %s
                FROM {leads.relation()} h(lead_id, from_status, owner_id)
                WHERE l.id = h.lead_id AND l.status = h.from_status AND h.from_status IN (%s, %s)
                RETURNING l.id, l.parentcontactid AS contact_id, h.from_status
            ), history AS (
                INSERT INTO {_STATUS_CHANGE} (lead_id, from_status, to_status, reason, changed_at)
                SELECT id, from_status, %s, %s, %s FROM moved
            ), changed AS (SELECT id, contact_id FROM moved)""",
            [mq, now, *leads.params, *HAND_OFF_FROM, mq, reason, now],
        )
    else:
        changed = _hand_off_portable(list(leads), reason=reason, now=now)
    return _announce(changed, ["status", "owner"])


def _hand_off_portable(rows: list[tuple[int, str, int | None]], *, reason: str, now: datetime) -> _Changed:
    mq = LeadStatus.MARKETING_QUALIFIED.value
    status = {pk: current for pk, (current,) in _current(sorted(r[0] for r in rows), "status").items()}
    moving = [
        (lead_id, from_status, owner_id)
        for lead_id, from_status, owner_id in sorted(rows)
        if from_status in HAND_OFF_FROM and status.get(lead_id) == from_status
    ]
    Lead.objects.bulk_update(
        [Lead(pk=lead_id, status=mq, owner_id=owner_id, updated_at=now) for lead_id, _, owner_id in moving],
        ["status", "owner", "updated_at"],
        batch_size=_CHUNK,
    )
    _history_create([(lead_id, from_status) for lead_id, from_status, _ in moving], mq, reason, now)
    return _portable_changed([lead_id for lead_id, _, _ in moving])


def _history_create(moves: list[tuple[int, str]], to_status: str, reason: str, now: datetime) -> None:
    LeadStatusChange.objects.bulk_create(
        [
            LeadStatusChange(
                lead_id=lead_id, from_status=from_status, to_status=to_status, reason=reason, changed_at=now
            )
            for lead_id, from_status in moves
        ],
        batch_size=_CHUNK,
    )


@_atomic
def leads_return_to_nurture(*, leads: SqlRows | Iterable[int], reason: str, now: datetime) -> int:
    """Send back to nurture the leads that are still marketing_qualified (sales has not accepted
    them), each recorded in LeadStatusChange with `reason` at `now`; returns the leads moved.

    `leads`: rows (lead_id), e.g. the handed-off leads whose score fell below the threshold.
    """
    mq, nurture = LeadStatus.MARKETING_QUALIFIED.value, LeadStatus.NURTURE.value
    if isinstance(leads, SqlRows):
        _require_postgresql()
        changed = _run_returning(
            f"""
            WITH changed AS (
                UPDATE {_LEAD} l SET status = %s, updated_at = %s
                FROM {leads.relation()} d(lead_id)
                WHERE l.id = d.lead_id AND l.status = %s
                RETURNING l.id, l.parentcontactid AS contact_id
            ), history AS (
                INSERT INTO {_STATUS_CHANGE} (lead_id, from_status, to_status, reason, changed_at)
                SELECT id, %s, %s, %s, %s FROM changed
            )""",
            [nurture, now, *leads.params, mq, mq, nurture, reason, now],
        )
    else:
        changed = _return_to_nurture_portable(sorted(set(leads)), reason=reason, now=now)
    return _announce(changed, ["status"])


def _return_to_nurture_portable(ids: list[int], *, reason: str, now: datetime) -> _Changed:
    mq, nurture = LeadStatus.MARKETING_QUALIFIED.value, LeadStatus.NURTURE.value
    back = sorted(pk for pk, (status,) in _current(ids, "status").items() if status == mq)
    for chunk in _chunks(back):
        Lead.objects.filter(pk__in=chunk).update(status=nurture, updated_at=now)
    _history_create([(pk, mq) for pk in back], nurture, reason, now)
    return _portable_changed(back)
