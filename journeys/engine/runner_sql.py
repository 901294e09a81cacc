"""A batch's writes on PostgreSQL: one statement each, from arrays (one parameter per column, not
per value)."""

from __future__ import annotations

from datetime import datetime

from django.db import connection

from .batch import Due, Execution


def timestamp_array(values: list[datetime | None]) -> str:
    """A PostgreSQL array literal of timestamps (cast with ::timestamptz[]): a batch has few distinct
    values, and formatting each once is far cheaper than adapting a list of datetimes element by element."""
    text: dict = {None: "NULL"}
    for value in values:
        if value not in text:
            text[value] = f'"{value.isoformat()}"'
    return "{" + ",".join([text[value] for value in values]) + "}"


def int_array(values: list[int | None]) -> str:
    """A PostgreSQL array literal of integers (cast with ::bigint[] or ::int[]): one join, where
    psycopg's list adapter would quote a thousand values one by one."""
    return "{" + ",".join(["NULL" if value is None else str(int(value)) for value in values]) + "}"


def text_array(values: list[str | None]) -> str:
    """A PostgreSQL array literal of strings (cast with ::varchar[]): a batch has few distinct values
    (states, outcomes, reasons), each quoted once."""
    text: dict = {None: "NULL"}
    for value in values:
        if value not in text:
            escaped = value.replace("\\", "\\\\").replace('"', '\\"')
            text[value] = f'"{escaped}"'
    return "{" + ",".join([text[value] for value in values]) + "}"


def insert_executions(executions: list[Execution]) -> list[int]:
    """INSERT ... SELECT FROM unnest(arrays); ids in input order. The unique (enrollment, seq)
    constraint fails the whole transaction if a step was already recorded."""
    columns = [
        int_array([x.enrollment_id for x in executions]),
        int_array([x.seq for x in executions]),
        int_array([x.entry_number for x in executions]),
        int_array([x.journey_id for x in executions]),
        int_array([x.step_id for x in executions]),
        text_array([x.outcome for x in executions]),
        text_array([x.detail for x in executions]),
        timestamp_array([x.executed_at for x in executions]),
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO journeys_stepexecution
                   (enrollment_id, seq, entry_number, journey_id, step_id, outcome, detail, executed_at)
               SELECT * FROM unnest(%s::bigint[], %s::int[], %s::int[], %s::bigint[], %s::bigint[],
                                    %s::varchar[], %s::varchar[], %s::timestamptz[])
               RETURNING enrollment_id, seq, id""",
            columns,
        )
        ids = {(enrollment_id, seq): pk for enrollment_id, seq, pk in cursor.fetchall()}
    return [ids[(x.enrollment_id, x.seq)] for x in executions]


def save_enrollments(enrollments: list[Due]) -> None:
    """The batch's new enrollment states in one UPDATE ... FROM unnest(arrays); the lease ends."""
    columns = [
        int_array([e.id for e in enrollments]),
        int_array([e.current_step_id for e in enrollments]),
        text_array([e.state for e in enrollments]),
        timestamp_array([e.next_run_at for e in enrollments]),
        int_array([e.seq for e in enrollments]),
        timestamp_array([e.step_started_at for e in enrollments]),
        timestamp_array([e.finished_at for e in enrollments]),
        text_array([e.exit_reason for e in enrollments]),
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE journeys_enrollment AS e SET current_step_id = v.step, state = v.state,
                    next_run_at = v.next_run_at, seq = v.seq, step_started_at = v.started,
                    finished_at = v.finished, exit_reason = v.reason, dispatched_at = NULL
                FROM unnest(%s::bigint[], %s::bigint[], %s::varchar[], %s::timestamptz[], %s::int[],
                            %s::timestamptz[], %s::timestamptz[], %s::varchar[])
                     AS v(id, step, state, next_run_at, seq, started, finished, reason)
                WHERE e.id = v.id""",
            columns,
        )
