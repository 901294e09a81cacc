"""The outbox on PostgreSQL: inserts from arrays, claims with SKIP LOCKED, a sender's claim held
as an advisory lock, and a claim finished in one statement with its interactions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.db import connection, transaction

from crm_core.services.records import interactions_insert_from
from crm_core.services.sql import SqlRows

from ..models import OutboundEmail, OutboxStatus
from .runner_sql import int_array

ADVISORY_NAMESPACE = 0x4A524E59 & 0x7FFFFFFF  # "JRNY": the first key of the sender claim locks


@contextmanager
def holding_claim(claim: int) -> Iterator[None]:
    """This connection holds the session-level advisory lock of `claim` inside the block."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [ADVISORY_NAMESPACE, claim])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [ADVISORY_NAMESPACE, claim])


def queue_emails(rows: list[tuple], now: datetime, claim: int | None) -> list[int]:
    status, attempts = ("sending", 1) if claim else ("pending", 0)
    columns = [int_array(list(column)) for column in zip(*rows, strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO journeys_outboundemail
                   (execution_id, enrollment_id, journey_id, step_id, contact_id, status, claim_id,
                    claimed_at, attempts, skip_reason, error, created_at, open_count, click_count)
               SELECT v.*, %s, %s, %s, %s, '', '', %s, 0, 0
               FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[]) AS v
               RETURNING id""",
            [status, claim, now if claim else None, attempts, now, *columns],
        )
        return sorted(row[0] for row in cursor.fetchall())


def claim_pending(outbox_ids: list[int], claim: int, now: datetime) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE journeys_outboundemail
               SET status = 'sending', claim_id = %s, claimed_at = %s, attempts = attempts + 1
               WHERE id IN (SELECT id FROM journeys_outboundemail
                            WHERE id = ANY(%s) AND status = 'pending'
                            ORDER BY id FOR UPDATE SKIP LOCKED)
               RETURNING id""",
            [claim, now, list(outbox_ids)],
        )
        return sorted(row[0] for row in cursor.fetchall())


def finalize_claim(claim: int) -> int:
    """Committed without waiting for the WAL flush: if a database crash lost it, the rows would still
    be `sending` with their marks under a claim nobody holds, and the tick would finish them again."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO off")
        created = interactions_insert_from(
            source=SqlRows(
                ctes="""sent AS (
                    UPDATE journeys_outboundemail SET status = 'sent', claim_id = NULL
                    WHERE claim_id = %s AND status = 'sending' AND sent_at IS NOT NULL
                    RETURNING id, contact_id, journey_id, step_id, sent_at)""",
                cte_params=[claim],
                sql="""SELECT sent.contact_id, 'email_sent' AS kind, sent.sent_at AS occurred_at,
                              jsonb_build_object('journey', sent.journey_id, 'step', sent.step_id,
                                                 'email', step.key, 'outbox', sent.id) AS properties
                       FROM sent JOIN journeys_step step ON step.id = sent.step_id""",
            )
        )
        cursor.execute(
            "UPDATE journeys_outboundemail SET status = 'pending', claim_id = NULL "
            "WHERE claim_id = %s AND status = 'sending' AND sent_at IS NULL",
            [claim],
        )
    return created


def release_dead_claims() -> int:
    """A claim whose advisory lock is free has no sender any more (a live sender holds its lock)."""
    released = 0
    sending = OutboundEmail.objects.filter(status=OutboxStatus.SENDING)
    for claim in list(sending.order_by().values_list("claim_id", flat=True).distinct()):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [ADVISORY_NAMESPACE, claim])
            if cursor.fetchone()[0]:
                finalize_claim(claim)
                released += 1
    return released
