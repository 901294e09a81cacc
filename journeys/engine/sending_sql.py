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
    own right after the backend call returns. Only `sent_at` changes (no indexed column), so
    PostgreSQL can make it a HOT update.

    The marks go out in libpq pipeline mode: each is a prepared statement followed by a sync (so each
    commits on its own), flushed to the socket at once, and its result is collected later without
    waiting for it. The worker never stops to wait for a round trip per email (on a busy machine each
    wait costs a scheduling delay of both processes); it waits only when more than
    JOURNEYS_SEND_MARKS_IN_FLIGHT marks are unconfirmed, and for all of them in `close()`, before the
    claim is finished. A mark the database refuses raises at a later `send` (results are read every
    COLLECT_EVERY marks) or at `close`.

    Marks are committed with `synchronous_commit=off` unless JOURNEYS_DURABLE_SEND_MARKS is on: a
    worker crash cannot lose them (every mark was flushed to PostgreSQL before the next SMTP call);
    a crash of PostgreSQL itself could lose the last fraction of a second of them (those emails would
    go again).
    """

    STATEMENT = "journeys_mark_sent"
    COLLECT_EVERY = 32  # marks sent between two non-blocking reads of their results

    def __init__(self):
        self.sent = 0  # marks sent
        self.confirmed = 0  # marks whose sync point came back
        self.error: Exception | None = None
        self.window = max(1, setting("JOURNEYS_SEND_MARKS_IN_FLIGHT", 200))
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
        self.pgconn.enter_pipeline_mode()

    def send(self, outbox_id: int) -> None:
        params = [timezone.now().isoformat().encode(), str(outbox_id).encode()]
        self.pgconn.send_query_prepared(self.STATEMENT.encode(), params)
        self.pgconn.pipeline_sync()
        self.sent += 1
        while self.pgconn.flush():  # the socket would block (a non-blocking libpq connection)
            select.select([self.pgconn.socket], [self.pgconn.socket], [])
            self.pgconn.consume_input()  # the server may be waiting for us to read its results
        if self.sent - self.confirmed > self.window:
            self._collect(block=True)
        elif self.sent % self.COLLECT_EVERY == 0:  # read what has come back (a syscall) now and then
            self._collect(block=False)
        self._raise()

    def wait(self) -> None:
        """Until every mark sent is confirmed (committed, or its error known)."""
        while self.confirmed < self.sent:
            self._collect(block=True)
        self._raise()

    def pause(self) -> None:
        """Every mark confirmed and the pipeline left: the connection takes ordinary queries."""
        try:
            self.wait()
        finally:
            while self.confirmed < self.sent:  # after an error: read the rest, then leave
                self._collect(block=True)
            self.pgconn.exit_pipeline_mode()

    def resume(self) -> None:
        self.pgconn.enter_pipeline_mode()

    def close(self) -> None:
        try:
            self.pause()
        finally:
            if not self.durable:
                with connection.cursor() as cursor:
                    cursor.execute("RESET synchronous_commit")

    def _collect(self, *, block: bool) -> None:
        """Read the results that have arrived; with `block`, wait until at least one more mark is
        confirmed."""
        target = self.confirmed + 1 if block else self.confirmed
        while True:
            self.pgconn.consume_input()
            while self.confirmed < self.sent and not self.pgconn.is_busy():
                result = self.pgconn.get_result()
                if result is None:
                    continue  # the end of one statement's results
                if result.status == psycopg.pq.ExecStatus.PIPELINE_SYNC:
                    self.confirmed += 1
                else:
                    self.error = self.error or self._error(result)
            if self.confirmed >= min(target, self.sent):
                return
            select.select([self.pgconn.socket], [], [])

    def _raise(self) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    @staticmethod
    def _error(result) -> Exception | None:
        if result.status in (psycopg.pq.ExecStatus.COMMAND_OK, psycopg.pq.ExecStatus.PIPELINE_ABORTED):
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
