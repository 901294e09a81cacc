"""Sending on PostgreSQL: each email's "sent" mark pipelined on the libpq connection, and the
latest lead of each contact with DISTINCT ON."""

from __future__ import annotations

import select

import psycopg
from django.db import connection
from django.utils import timezone

from crm_core.models import Lead

from .conf import setting


class SentMarks:
    """The durable "SMTP accepted it" mark of each email: `UPDATE ... SET sent_at` committed on its
    own (autocommit) right after the backend call returns. Only `sent_at` changes (no indexed column),
    so PostgreSQL can make it a HOT update.

    The mark goes out as a prepared statement on the libpq connection and is flushed at once; its
    result is read (`wait`) just before the next SMTP call, so the next message is rendered while the
    mark travels, and there is never more than one email whose mark is not yet confirmed (as with a
    synchronous round trip).

    Marks are committed with `synchronous_commit=off` unless JOURNEYS_DURABLE_SEND_MARKS is on: a
    worker crash cannot lose them (PostgreSQL has the mark once it has run the statement); a crash of
    PostgreSQL itself could lose the last fraction of a second of them (those emails would go again).
    """

    STATEMENT = "journeys_mark_sent"

    def __init__(self):
        self.in_flight = False
        self.durable = setting("JOURNEYS_DURABLE_SEND_MARKS", False)
        with connection.cursor() as cursor:
            if not self.durable:
                cursor.execute("SET synchronous_commit TO off")
            # Prepared once per database session (anything may have run DEALLOCATE since: look).
            cursor.execute("SELECT 1 FROM pg_prepared_statements WHERE name = %s", [self.STATEMENT])
            exists = cursor.fetchone()
        self.pgconn = connection.connection.pgconn
        if not exists:
            self._check(
                self.pgconn.prepare(
                    self.STATEMENT.encode(),
                    b"UPDATE journeys_outboundemail SET sent_at = $1::timestamptz WHERE id = $2::bigint",
                )
            )

    def send(self, outbox_id: int) -> None:
        params = [timezone.now().isoformat().encode(), str(outbox_id).encode()]
        self.pgconn.send_query_prepared(self.STATEMENT.encode(), params)
        self.in_flight = True
        while self.pgconn.flush():  # the socket would block (a non-blocking libpq connection)
            select.select([], [self.pgconn.socket], [])

    def wait(self) -> None:
        if not self.in_flight:
            return
        self.in_flight = False
        error = None
        while (result := self.pgconn.get_result()) is not None:
            error = error or self._error(result)
        if error:
            raise error

    def close(self) -> None:
        try:
            self.wait()
        finally:
            if not self.durable:
                with connection.cursor() as cursor:
                    cursor.execute("RESET synchronous_commit")

    @staticmethod
    def _error(result) -> Exception | None:
        if result.status == psycopg.pq.ExecStatus.COMMAND_OK:
            return None
        return psycopg.DatabaseError((result.error_message or b"").decode(errors="replace"))

    def _check(self, result) -> None:
        error = self._error(result)
        if error:
            raise error


def latest_leads(contact_ids: set[int]) -> dict[int, Lead]:
    """The newest lead of each of these contacts (merge fields `lead.*`), in one query."""
    leads = Lead.objects.filter(parent_contact_id__in=contact_ids).order_by(
        "parent_contact_id", "-created_at", "-id"
    )
    return {lead.parent_contact_id: lead for lead in leads.distinct("parent_contact_id")}
