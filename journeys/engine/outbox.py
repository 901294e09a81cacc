"""The outbox: every journey email is a row here before it leaves, and leaves only from here.

A row is queued by the batch that ran its send-email step, in that batch's transaction (already
claimed by the task's sender, or `pending` for the sweep). A sender claims rows (pending -> sending)
under a claim id, marks each one sent right after the email backend accepted it
(`engine/sending.py`), and finishes the claim: marked rows become `sent` with an `email_sent`
interaction, the rest go back to `pending`. On PostgreSQL the sender holds an advisory lock on its
claim id, so the claim of a dead sender is known by its free lock; on the portable path by its age.
The statements are in `outbox_sql.py` and `outbox_portable.py`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from crm_core import sqlpath

from ..models import OutboundEmail, OutboxStatus
from . import outbox_portable, outbox_sql


def _statements():
    return outbox_sql if sqlpath.postgres_sql() else outbox_portable


@contextmanager
def sender_claim() -> Iterator[int]:
    """A new claim id, held by this connection until the block ends (on PostgreSQL a session-level
    advisory lock: if the process dies, PostgreSQL drops the connection and the lock with it)."""
    claim = random.randint(1, 2**31 - 1)
    with _statements().holding_claim(claim):
        yield claim


def queue_emails(rows: list[tuple], now: datetime, claim: int | None) -> list[int]:
    """Insert outbox rows (execution_id, enrollment_id, journey_id, step_id, contact_id) in one
    statement: claimed by `claim` (status sending) when given, else pending. Returns their ids in
    order."""
    if not rows:
        return []
    return _statements().queue_emails(rows, now, claim)


def claim_pending(outbox_ids: list[int], claim: int, now: datetime) -> list[int]:
    """Claim these rows for `claim` where they are still pending (others are left alone); returns
    the claimed ids in order."""
    return _statements().claim_pending(outbox_ids, claim, now)


def finalize_claim(claim: int) -> int:
    """Set-based end of a claim: rows marked as accepted become `sent` with an email_sent interaction
    each (one statement), announced as crm_core's interaction notices (live segments, scoring); rows
    never accepted go back to `pending`. Run by the sender when its batch is done, and by the tick for
    the claims of dead senders. Returns how many were sent."""
    return _statements().finalize_claim(claim)


def release_dead_claims() -> int:
    """Finish the claims of dead senders: what they had handed to the backend is `sent`, the rest goes
    back to `pending`. A live sender's rows are never taken from it. Returns how many claims."""
    return _statements().release_dead_claims()


def pending_outbox_ids(*, older_than: datetime, limit: int) -> list[int]:
    """Pending rows queued before `older_than` (the sweep sends them), oldest first."""
    return list(
        OutboundEmail.objects.filter(status=OutboxStatus.PENDING, created_at__lt=older_than)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
