"""The journey engine: entering contacts, exits, handing due enrollments to workers, running steps
and sending the outbox.

Exactly-once, in short (docs/architecture.md has the long form):
- A worker runs a batch of enrollments in ONE transaction holding their row locks
  (`SELECT ... FOR UPDATE SKIP LOCKED`, re-checking that each is still due). Every step it runs
  writes a `StepExecution` (unique per enrollment and `seq`), its database side effects (lead, task,
  field, list, outbox row) and the enrollment's new state in that same transaction. A crash rolls
  all of it back; a retried task or an overlapping tick finds the rows locked or no longer due.
- Email leaves the machine only from the outbox, after that commit. A sender claims rows
  (pending -> sending) under a claim id whose PostgreSQL advisory lock it holds for the whole batch,
  and marks each row sent in its own commit right after the SMTP call returns. When a sender dies,
  its connection drops, the advisory lock frees, and the next tick puts its unsent rows back to
  pending. The one window left: SMTP accepted a message and the process died before the "sent"
  commit (microseconds); that message is sent again with the same Message-ID, so it is at-least-once
  there and exactly-once everywhere else.
"""

from __future__ import annotations

import hashlib
import logging
import random
import select
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from django.conf import settings
from django.core.mail import get_connection
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from crm_core.models import Contact, Interaction, InteractionKind, Lead, LeadSource
from crm_core.services import interactions_record, lead_create
from crm_core.services.records import interactions_insert_from
from crm_core.services.sql import SqlRows

from . import adapters, emails
from .models import (
    OPEN_STATES,
    EnrollmentState,
    EntryType,
    ExecutionOutcome,
    Journey,
    JourneyStatus,
    OutboundEmail,
    OutboxStatus,
    Step,
    StepExecution,
    StepKind,
    TriggerKind,
)
from .models import Enrollment as EnrollmentModel

logger = logging.getLogger(__name__)

ADVISORY_NAMESPACE = 0x4A524E59 & 0x7FFFFFFF  # "JRNY": the first key of the sender claim locks
MAX_STEPS_PER_RUN = 50  # steps one enrollment may run in one batch (guards against loops)
# Consent preferences an update-field step may set, each only to the value that withdraws it (e.g. a
# sunset policy for the unengaged): giving consent is the person's own act, never a workflow's.
CONSENT_WITHDRAWALS = {
    "do_not_bulk_email": True,
    "do_not_email": True,
    "allow_prefill": False,
    "track_email": False,
}
UPDATABLE_CONTACT_FIELDS = ("job_title", "job_role", "city", "country", "phone", *CONSENT_WITHDRAWALS)


def setting(name: str, default):
    return getattr(settings, name, default)


def postgres_sql() -> bool:
    """PostgreSQL runs the set-based statements with row locks (SKIP LOCKED), advisory locks and
    arrays. Any other database (the embedded SQLite default, which lets one writer in at a time)
    runs the portable ORM path: one worker process; a sender's claim is known dead by its age
    (JOURNEYS_DISPATCH_LEASE_SECONDS) instead of by a lock. Tests switch this off to run the
    portable path on PostgreSQL."""
    return connection.vendor == "postgresql"


# --- Entering -------------------------------------------------------------------------------------


def first_step_id(journey: Journey) -> int | None:
    return journey.steps.order_by("position", "id").values_list("id", flat=True).first()


def entry_source(journey: Journey, since: datetime | None):
    """A queryset of (contact_id, joined_at) rows: who may enter now and when they qualified."""
    if journey.entry_type == EntryType.SEGMENT:
        return adapters.segment_joins_since(journey.entry_segment_id, since)
    config = journey.trigger_config or {}
    # Nothing that happened before the journey (last) went live enters: the cursor's overlap must not
    # reach back past it.
    live_since = journey.live_since or journey.went_live_at
    since = max(since, live_since) if since and live_since else since or live_since
    match journey.trigger_kind:
        case TriggerKind.FORM_SUBMIT:
            rows = adapters.form_submit_interactions(page=config.get("page"), form=config.get("form"))
            rows = rows.filter(created_at__gte=since, occurred_at__gte=live_since)
            return rows.values_list("contact_id", "created_at")
        case TriggerKind.INTERACTION:
            rows = Interaction.objects.filter(
                kind=config.get("kind"), created_at__gte=since, occurred_at__gte=live_since
            )
            return rows.values_list("contact_id", "created_at")
        case TriggerKind.LEAD_CREATED:
            rows = Lead.objects.filter(created_at__gte=since, parent_contact__isnull=False)
            if config.get("topic"):
                rows = rows.filter(topic__iexact=config["topic"])
            return rows.values_list("parent_contact_id", "created_at")
        case TriggerKind.FIELD_CHANGED:
            rows = Contact.objects.filter(updated_at__gte=since, **{config["field"]: config.get("value")})
            return rows.values_list("id", "updated_at")
    raise ValueError(f"journey {journey.pk} has no valid entry")


def enter_contacts(*, journey: Journey, now: datetime) -> int:
    """Enter everyone the journey's entry produced since its cursor: one INSERT ... SELECT (and one
    UPDATE for re-entries), never a row at a time. Returns how many entered."""
    start = first_step_id(journey)
    if start is None:
        return 0
    overlap = timedelta(seconds=setting("JOURNEYS_ENTRY_OVERLAP_SECONDS", 60))
    since = journey.entry_cursor - overlap if journey.entry_cursor else None
    source_sql, source_params = entry_source(journey, since).query.sql_with_params()
    # The entry source (and the suppression segment) as CTEs with column lists: portable SQL that
    # PostgreSQL inlines, and SQLite (no column lists on derived tables) accepts.
    ctes, params = [f"raw(contact_id, joined_at) AS ({source_sql})"], list(source_params)
    source = (
        "(SELECT contact_id, max(joined_at) AS joined_at FROM raw "
        "WHERE contact_id IS NOT NULL GROUP BY contact_id) AS src"
    )
    suppress = ""
    if journey.suppression_segment_id:
        sup_sql, sup_params = adapters.segment_member_ids(
            journey.suppression_segment_id
        ).query.sql_with_params()
        ctes.append(f"sup(contact_id) AS ({sup_sql})")
        params += list(sup_params)
        suppress = "AND NOT EXISTS (SELECT 1 FROM sup WHERE sup.contact_id = src.contact_id)"
    with_ctes = "WITH " + ", ".join(ctes)
    entered = 0
    now = connection.ops.adapt_datetimefield_value(now)  # raw SQL: stored as the ORM stores it
    with connection.cursor() as cursor:
        if journey.allow_reentry:
            cursor.execute(
                f"""{with_ctes}
                    UPDATE journeys_enrollment AS e SET current_step_id = %s, state = 'active',
                        next_run_at = %s, entry_number = e.entry_number + 1, entered_at = %s,
                        step_started_at = %s, finished_at = NULL, exit_reason = '', dispatched_at = NULL
                    FROM {source}
                    WHERE e.journey_id = %s AND e.contact_id = src.contact_id
                      AND e.state IN ('completed', 'exited') AND src.joined_at > e.finished_at {suppress}""",
                [*params, start, now, now, now, journey.pk],
            )
            entered += _rows_changed(cursor)
        # NOT EXISTS skips everyone already enrolled by the snapshot (cheaper than a conflict per row, and
        # it never waits on a worker that is updating their enrollment); ON CONFLICT covers races.
        cursor.execute(
            f"""{with_ctes}
                INSERT INTO journeys_enrollment (journey_id, contact_id, current_step_id, state, next_run_at,
                    seq, entry_number, entered_at, step_started_at, exit_reason)
                SELECT %s, src.contact_id, %s, 'active', %s, 0, 1, %s, %s, '' FROM {source}
                WHERE NOT EXISTS (SELECT 1 FROM journeys_enrollment AS x
                                  WHERE x.journey_id = %s AND x.contact_id = src.contact_id) {suppress}
                ON CONFLICT (journey_id, contact_id) DO NOTHING""",
            [*params, journey.pk, start, now, now, now, journey.pk],
        )
        entered += _rows_changed(cursor)
    return entered


def _rows_changed(cursor) -> int:
    """Rows the last statement wrote. Python's sqlite3 reports -1 for a statement that starts with
    WITH; SQLite's changes() has the count."""
    if cursor.rowcount >= 0:
        return cursor.rowcount
    cursor.execute("SELECT changes()")
    return cursor.fetchone()[0]


# --- Exits ----------------------------------------------------------------------------------------


def exit_q(journey: Journey) -> list[tuple[Q, str]]:
    """(Q over Contact, reason) pairs: a contact matching any must leave the journey."""
    parts: list[tuple[Q, str]] = []
    if journey.exit_on_sales_ready:
        parts.append(
            (Q(Exists(Lead.objects.filter(parent_contact=OuterRef("pk"), sales_ready=True))), "sales_ready")
        )
    if journey.suppression_segment_id:
        parts.append((Q(id__in=adapters.segment_member_ids(journey.suppression_segment_id)), "suppressed"))
    if journey.exit_condition:
        parts.append((adapters.compile_contact_condition(journey.exit_condition), "exit_condition"))
    return parts


def apply_exits(*, journey: Journey, now: datetime) -> int:
    """Set-based: every open enrollment whose contact meets an exit condition leaves."""
    total = 0
    for q, reason in exit_q(journey):
        total += EnrollmentModel.objects.filter(
            journey=journey, state__in=OPEN_STATES, contact__in=Contact.objects.filter(q)
        ).update(state=EnrollmentState.EXITED, exit_reason=reason, finished_at=now, next_run_at=None)
    return total


# --- Dispatch -------------------------------------------------------------------------------------


def claim_due(*, now: datetime, limit: int, after: tuple[datetime, int] | None = None) -> list[tuple]:
    """Lease up to `limit` due enrollments of live journeys to this tick (skipping rows a worker holds);
    a lease older than JOURNEYS_DISPATCH_LEASE_SECONDS is taken over (its worker died). Returns
    (next_run_at, id) of each, in that order: pass the last one as `after` to continue behind it
    (the due index is in that order, so a tick's chunks do not scan what it leased already).

    A lease is only a hint that a worker has the batch (the worker re-checks under row locks), so it
    is committed without waiting for the WAL flush: a database crash can at worst hand a batch out
    twice, and the second hand-out finds nothing to do."""
    lease = timedelta(seconds=setting("JOURNEYS_DISPATCH_LEASE_SECONDS", 600))
    if not postgres_sql():
        return _claim_due_portable(now=now, limit=limit, after=after, lease=lease)
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


def _claim_due_portable(*, now, limit, after, lease) -> list[tuple]:
    due = EnrollmentModel.objects.filter(
        Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=now - lease),
        state__in=OPEN_STATES,
        next_run_at__lte=now,
        journey__status=JourneyStatus.LIVE,
    )
    if after is not None:
        due = due.filter(Q(next_run_at__gt=after[0]) | Q(next_run_at=after[0], id__gt=after[1]))
    with transaction.atomic():
        leased = list(due.order_by("next_run_at", "id").values_list("next_run_at", "id")[:limit])
        EnrollmentModel.objects.filter(id__in=[i for _, i in leased]).update(dispatched_at=now)
    return leased


# --- Running steps --------------------------------------------------------------------------------


@dataclass
class Outcome:
    kind: str  # "advance" | "park" | "exit"
    outcome: str = ExecutionOutcome.DONE
    branch: str = "next"  # "next" | "else"
    detail: str = ""
    until: datetime | None = None
    send: bool = False


def advance(outcome=ExecutionOutcome.DONE, branch="next", detail="", send=False) -> Outcome:
    return Outcome("advance", outcome=outcome, branch=branch, detail=detail[:200], send=send)


def park(until: datetime) -> Outcome:
    return Outcome("park", until=until)


class Due:
    """An enrollment as a batch runs it: the columns the steps read and write, without model
    instances (a batch holds hundreds of them)."""

    __slots__ = (
        "id",
        "journey_id",
        "contact_id",
        "current_step_id",
        "state",
        "next_run_at",
        "seq",
        "entry_number",
        "entered_at",
        "step_started_at",
        "finished_at",
        "exit_reason",
        "journey",
    )
    COLUMNS = __slots__[:-1]

    def __init__(self, row: tuple, journey: Journey):
        for name, value in zip(self.COLUMNS, row, strict=True):
            setattr(self, name, value)
        self.journey = journey

    @property
    def pk(self) -> int:
        return self.id


@dataclass(slots=True)
class Execution:
    """A StepExecution row to insert (the batch writes them in one statement)."""

    enrollment_id: int
    seq: int
    entry_number: int
    journey_id: int
    step_id: int
    outcome: str
    detail: str
    executed_at: datetime


class Batch:
    """One transaction's worth of enrollments and what happened to them."""

    def __init__(self, enrollments: list[Due], now: datetime):
        self.enrollments = enrollments
        self.now = now
        self.executions: list[Execution] = []
        self.sends: list[tuple[int, Due]] = []  # (index into executions, enrollment)
        self._contacts: dict[int, Contact] | None = None

    def contacts(self) -> dict[int, Contact]:
        if self._contacts is None:
            ids = [e.contact_id for e in self.enrollments]
            self._contacts = Contact.objects.select_related("parent_account").in_bulk(ids)
        return self._contacts


def lock_due(enrollment_ids: list[int], now: datetime) -> list[Due]:
    """Lock these enrollments (skipping rows another worker holds) that are still due in a live
    journey; in id order. Plain rows, not model instances: one query, cheap per row."""
    rows = list(
        EnrollmentModel.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(id__in=enrollment_ids, state__in=OPEN_STATES, next_run_at__lte=now, journey__status="live")
        .order_by("id")
        .values_list(*Due.COLUMNS)
    )
    if not rows:
        return []
    journeys = Journey.objects.in_bulk({row[1] for row in rows})
    return [Due(row, journeys[row[1]]) for row in rows]


def run_batch(
    *, enrollment_ids: list[int], now: datetime | None = None, claim: int | None = None
) -> list[int]:
    """Run every due step of these enrollments (those another worker holds are skipped) in one
    transaction; return the ids of the outbox rows to send once it has committed. With `claim` (a
    sender_claim held by this connection) the outbox rows are created already claimed by it."""
    now = now or timezone.now()
    with transaction.atomic():
        enrollments = lock_due(enrollment_ids, now)
        if not enrollments:
            return []
        batch = Batch(enrollments, now)
        journeys = {e.journey_id: e.journey for e in enrollments}
        steps = Step.objects.filter(journey_id__in=journeys).in_bulk()
        _exit_due(batch, journeys)
        for _ in range(MAX_STEPS_PER_RUN):
            groups: dict[int | None, list] = defaultdict(list)
            for e in batch.enrollments:
                if e.state in OPEN_STATES and e.next_run_at is not None and e.next_run_at <= now:
                    groups[e.current_step_id].append(e)
            if not groups:
                break
            for step_id, members in groups.items():
                step = steps.get(step_id)
                if step is None:  # the journey has no step here: it is over
                    for e in members:
                        _finish(e, EnrollmentState.COMPLETED, "", now)
                    continue
                results = HANDLERS[step.kind](step, members, batch)
                for e in members:
                    _apply(e, step, results[e.pk], batch, steps)
        execution_ids = _insert_executions(batch.executions)
        outbox_ids = _insert_outbox(
            [
                (execution_ids[index], e.pk, e.journey_id, batch.executions[index].step_id, e.contact_id)
                for index, e in batch.sends
            ],
            now,
            claim,
        )
        _save_enrollments(batch.enrollments)
    return outbox_ids


def timestamp_array(values: list[datetime | None]) -> str:
    """A PostgreSQL array literal of timestamps (cast with ::timestamptz[]): a batch has few distinct
    values, and formatting each once is far cheaper than adapting a list of datetimes element by element."""
    text: dict = {None: "NULL"}
    for value in values:
        if value not in text:
            text[value] = f'"{value.isoformat()}"'
    return "{" + ",".join([text[value] for value in values]) + "}"


def _insert_executions(executions: list[Execution]) -> list[int]:
    """INSERT ... SELECT FROM unnest(arrays): one statement for the batch; ids in input order. The
    unique (enrollment, seq) constraint fails the whole transaction if a step was already recorded."""
    if not executions:
        return []
    if not postgres_sql():
        created = StepExecution.objects.bulk_create(
            [StepExecution(**{f: getattr(x, f) for f in Execution.__slots__}) for x in executions]
        )
        return [x.pk for x in created]
    columns = [
        [x.enrollment_id for x in executions],
        [x.seq for x in executions],
        [x.entry_number for x in executions],
        [x.journey_id for x in executions],
        [x.step_id for x in executions],
        [x.outcome for x in executions],
        [x.detail for x in executions],
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


def _insert_outbox(rows: list[tuple], now: datetime, claim: int | None) -> list[int]:
    if not rows:
        return []
    status, attempts = ("sending", 1) if claim else ("pending", 0)
    if not postgres_sql():
        names = ("execution_id", "enrollment_id", "journey_id", "step_id", "contact_id")
        created = OutboundEmail.objects.bulk_create(
            [
                OutboundEmail(
                    **dict(zip(names, row, strict=True)),
                    status=status,
                    claim_id=claim,
                    claimed_at=now if claim else None,
                    attempts=attempts,
                    created_at=now,
                )
                for row in rows
            ]
        )
        return sorted(x.pk for x in created)
    columns = [list(column) for column in zip(*rows, strict=True)]
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


def _exit_due(batch: Batch, journeys: dict[int, Journey]) -> None:
    by_journey: dict[int, list] = defaultdict(list)
    for e in batch.enrollments:
        by_journey[e.journey_id].append(e)
    for journey_id, members in by_journey.items():
        for q, reason in exit_q(journeys[journey_id]):
            leaving = set(
                Contact.objects.filter(q, id__in=[e.contact_id for e in members]).values_list("id", flat=True)
            )
            for e in members:
                if e.contact_id in leaving and e.state in OPEN_STATES:
                    _finish(e, EnrollmentState.EXITED, reason, batch.now)


def _finish(e, state: str, reason: str, now: datetime) -> None:
    e.state = state
    e.exit_reason = reason
    e.finished_at = now
    e.next_run_at = None
    e.current_step_id = None if state == EnrollmentState.COMPLETED else e.current_step_id


def _apply(e, step: Step, result: Outcome, batch: Batch, steps: dict) -> None:
    now = batch.now
    if result.kind == "park":
        e.state = EnrollmentState.WAITING
        e.next_run_at = result.until
        return
    batch.executions.append(
        Execution(
            enrollment_id=e.pk,
            seq=e.seq,
            entry_number=e.entry_number,
            journey_id=e.journey_id,
            step_id=step.pk,
            outcome=result.outcome,
            detail=result.detail,
            executed_at=now,
        )
    )
    if result.send:
        batch.sends.append((len(batch.executions) - 1, e))
    e.seq += 1
    if step.kind == StepKind.END:
        _finish(e, EnrollmentState.COMPLETED, "", now)
        return
    target = step.next_step_id if result.branch == "next" else step.else_step_id
    if target is None or target not in steps:
        _finish(e, EnrollmentState.COMPLETED, "", now)
        return
    e.current_step_id = target
    e.state = EnrollmentState.ACTIVE
    e.step_started_at = now
    e.next_run_at = now


def _save_enrollments(enrollments: list[Due]) -> None:
    """The batch's new enrollment states in one UPDATE ... FROM unnest(arrays) (one parameter per
    column, not per value)."""
    if not postgres_sql():
        fields = ["current_step_id", "state", "next_run_at", "seq", "step_started_at", "finished_at"]
        EnrollmentModel.objects.bulk_update(
            [
                EnrollmentModel(id=e.id, **{f: getattr(e, f) for f in fields}, exit_reason=e.exit_reason)
                for e in enrollments
            ],
            [*fields, "exit_reason", "dispatched_at"],
        )
        return
    columns = [
        [e.id for e in enrollments],
        [e.current_step_id for e in enrollments],
        [e.state for e in enrollments],
        timestamp_array([e.next_run_at for e in enrollments]),
        [e.seq for e in enrollments],
        timestamp_array([e.step_started_at for e in enrollments]),
        timestamp_array([e.finished_at for e in enrollments]),
        [e.exit_reason for e in enrollments],
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


# --- Step handlers: (step, enrollments, batch) -> {enrollment id: Outcome} ----------------------


def _send_email(step, members, batch):
    journey = members[0].journey
    blocked = adapters.marketing_email_block_reasons(
        [e.contact_id for e in members],
        min_consent_level=journey.min_consent_level,
        subscription_list_id=journey.subscription_list_id,
    )
    queued = advance(ExecutionOutcome.EMAIL_QUEUED, send=True)  # outcomes are only read: share one
    return {
        e.pk: advance(ExecutionOutcome.SKIPPED_CONSENT, detail=blocked[e.contact_id])
        if e.contact_id in blocked
        else queued
        for e in members
    }


def wait_seconds(config: dict) -> int:
    return int(
        config.get("seconds", 0)
        + 60 * config.get("minutes", 0)
        + 3600 * config.get("hours", 0)
        + 86400 * config.get("days", 0)
    )


def _wait_duration(step, members, batch):
    delta = timedelta(seconds=wait_seconds(step.config))
    return {
        e.pk: advance() if e.step_started_at + delta <= batch.now else park(e.step_started_at + delta)
        for e in members
    }


def _wait_until(step, members, batch):
    until = parse_datetime(step.config["until"])
    if timezone.is_naive(until):
        until = timezone.make_aware(until)
    return {e.pk: advance() if until <= batch.now else park(until) for e in members}


def _if_condition(step, members, batch):
    q = adapters.compile_contact_condition(step.config["condition"])
    matched = set(
        Contact.objects.filter(q, id__in=[e.contact_id for e in members]).values_list("id", flat=True)
    )
    return {
        e.pk: advance(ExecutionOutcome.YES)
        if e.contact_id in matched
        else advance(ExecutionOutcome.NO, "else")
        for e in members
    }


def _if_interaction(step, members, batch):
    config = step.config
    kind = config.get("kind", InteractionKind.EMAIL_OPEN)
    of_step = config.get("email_step")
    if of_step and kind in (InteractionKind.EMAIL_OPEN, InteractionKind.EMAIL_CLICK):
        # "opened/clicked the email of step X during this entry": the outbox row knows.
        marker = "first_opened_at" if kind == InteractionKind.EMAIL_OPEN else "first_clicked_at"
        rows = OutboundEmail.objects.filter(
            enrollment_id__in=[e.pk for e in members],
            step__journey_id=step.journey_id,
            step__key=of_step,
            **{f"{marker}__isnull": False},
        ).values_list("enrollment_id", "execution__entry_number")
        done = {(enrollment_id, entry) for enrollment_id, entry in rows}
        matched = {e.pk for e in members if (e.pk, e.entry_number) in done}
    else:
        entered = {e.contact_id: e.entered_at for e in members}
        rows = Interaction.objects.filter(
            kind=kind, contact_id__in=list(entered), occurred_at__gte=min(entered.values())
        ).values_list("contact_id", "occurred_at")
        matched_contacts = {cid for cid, at in rows if at >= entered[cid]}
        matched = {e.pk for e in members if e.contact_id in matched_contacts}
    timeout = timedelta(seconds=int(config.get("wait_up_to_seconds") or 0))
    recheck = timedelta(seconds=setting("JOURNEYS_CONDITION_RECHECK_SECONDS", 300))
    results = {}
    for e in members:
        deadline = e.step_started_at + timeout
        if e.pk in matched:
            results[e.pk] = advance(ExecutionOutcome.YES)
        elif batch.now < deadline:
            results[e.pk] = park(min(deadline, batch.now + recheck))
        else:
            results[e.pk] = advance(ExecutionOutcome.NO, "else")
    return results


def split_bucket(enrollment_id: int, step_id: int) -> int:
    """0-99, fixed per enrollment and step, so a re-run takes the same branch."""
    digest = hashlib.sha256(f"{enrollment_id}:{step_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100


def _split(step, members, batch):
    percent = int(step.config.get("percent", 50))
    return {
        e.pk: advance(ExecutionOutcome.YES)
        if split_bucket(e.pk, step.pk) < percent
        else advance(ExecutionOutcome.NO, "else")
        for e in members
    }


def _create_lead(step, members, batch):
    contacts = batch.contacts()
    results = {}
    for e in members:
        contact = contacts[e.contact_id]
        lead = lead_create(
            topic=step.config["topic"],
            first_name=contact.first_name,
            last_name=contact.last_name,
            email=contact.email,
            company_name=contact.parent_account.name if contact.parent_account else "",
            job_title=contact.job_title,
            job_role=contact.job_role,
            parent_contact=contact,
            parent_account=contact.parent_account,
            owner_id=contact.owner_id,
            source=LeadSource.JOURNEY,
        )
        results[e.pk] = advance(detail=f"lead {lead.pk}")
    return results


def _update_field(step, members, batch):
    field, value = step.config["field"], step.config.get("value")
    adapters.contacts_field_set(contact_ids=[e.contact_id for e in members], field=field, value=value)
    return {e.pk: advance(detail=f"{field}={value}") for e in members}


def _list_add(step, members, batch):
    # Never re-subscribes someone who unsubscribed: their membership stays as it is.
    adapters.list_memberships_set(
        contact_ids=[e.contact_id for e in members], subscription_list_id=step.config["list"], subscribed=True
    )
    return {e.pk: advance() for e in members}


def _list_remove(step, members, batch):
    # The membership is kept, marked unsubscribed: it blocks the list's email from now on.
    adapters.list_memberships_set(
        contact_ids=[e.contact_id for e in members],
        subscription_list_id=step.config["list"],
        subscribed=False,
    )
    return {e.pk: advance() for e in members}


def _segment_add(step, members, batch):
    adapters.static_segment_add(
        segment_id=step.config["segment"], contact_ids=[e.contact_id for e in members], now=batch.now
    )
    return {e.pk: advance() for e in members}


def _segment_remove(step, members, batch):
    adapters.static_segment_remove(
        segment_id=step.config["segment"], contact_ids=[e.contact_id for e in members]
    )
    return {e.pk: advance() for e in members}


def _create_task(step, members, batch):
    """One sales task per member for the contact's owner (else its account's), through the adapter."""
    contacts = batch.contacts()
    due_days = step.config.get("due_in_days")
    due_at = batch.now + timedelta(days=due_days) if due_days is not None else None
    owner_contacts = []
    for e in members:
        contact = contacts[e.contact_id]
        owner_id = contact.owner_id or (contact.parent_account.owner_id if contact.parent_account else None)
        owner_contacts.append((owner_id, contact.pk))
    adapters.sales_tasks_create(
        title=step.config["title"],
        description=step.config.get("description", ""),
        due_at=due_at,
        journey_id=step.journey_id,
        owner_contacts=owner_contacts,
        now=batch.now,
    )
    return {e.pk: advance() for e in members}


def _end(step, members, batch):
    return {e.pk: advance() for e in members}


HANDLERS = {
    StepKind.SEND_EMAIL: _send_email,
    StepKind.WAIT_DURATION: _wait_duration,
    StepKind.WAIT_UNTIL: _wait_until,
    StepKind.IF_CONDITION: _if_condition,
    StepKind.IF_INTERACTION: _if_interaction,
    StepKind.SPLIT: _split,
    StepKind.CREATE_LEAD: _create_lead,
    StepKind.UPDATE_FIELD: _update_field,
    StepKind.LIST_ADD: _list_add,
    StepKind.LIST_REMOVE: _list_remove,
    StepKind.SEGMENT_ADD: _segment_add,
    StepKind.SEGMENT_REMOVE: _segment_remove,
    StepKind.CREATE_TASK: _create_task,
    StepKind.END: _end,
}


# --- Sending the outbox ---------------------------------------------------------------------------


@contextmanager
def sender_claim():
    """A claim id whose session-level advisory lock this connection holds until the block ends; if
    the process dies, PostgreSQL drops the connection and the lock with it."""
    claim = random.randint(1, 2**31 - 1)
    if not postgres_sql():  # no locks: the claim's age (claimed_at) tells a dead sender
        yield claim
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [ADVISORY_NAMESPACE, claim])
    try:
        yield claim
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [ADVISORY_NAMESPACE, claim])


def send_outbox(*, outbox_ids: list[int]) -> int:
    """Send these outbox rows (those still pending): claim, re-check consent, send, mark each sent.
    Must run outside a transaction. Returns how many were sent."""
    if not outbox_ids:
        return 0
    with sender_claim() as claim:
        now = timezone.now()
        if postgres_sql():
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
                claimed = sorted(row[0] for row in cursor.fetchall())
        else:
            with transaction.atomic():
                pending = OutboundEmail.objects.filter(id__in=outbox_ids, status=OutboxStatus.PENDING)
                claimed = sorted(pending.values_list("id", flat=True))
                OutboundEmail.objects.filter(id__in=claimed, status=OutboxStatus.PENDING).update(
                    status=OutboxStatus.SENDING, claim_id=claim, claimed_at=now, attempts=F("attempts") + 1
                )
        return send_claimed(claimed, claim)


class Recipient:
    """An outbox row about to be sent, with the merge-field values of its contact and account: what
    rendering reads (plain attributes, no model instances)."""

    __slots__ = ("id", "attempts", "journey_id", "step_id", "contact", "account")


class _Record:
    """Merge-field values of one contact or account (`getattr(record, field)`, like a model)."""

    def __init__(self, **values):
        self.__dict__.update(values)


_CONTACT_FIELDS = (
    "email",
    *adapters.TRACKING_FIELDS,
    *[f for f in emails.MERGE_FIELDS["contact"] if f != "email"],
)
_ACCOUNT_FIELDS = emails.MERGE_FIELDS["account"]


def _recipients(claimed: list[int]) -> list[Recipient]:
    """The claimed rows with their contacts' and accounts' merge fields: one query, plain values."""
    rows = (
        OutboundEmail.objects.filter(id__in=claimed)
        .order_by("id")
        .values_list(
            "id",
            "attempts",
            "journey_id",
            "step_id",
            "contact_id",
            *[f"contact__{f}" for f in _CONTACT_FIELDS],
            "contact__parent_account_id",
            *[f"contact__parent_account__{f}" for f in _ACCOUNT_FIELDS],
        )
    )
    width = len(_CONTACT_FIELDS)
    out = []
    for row in rows:
        r = Recipient()
        r.id, r.attempts, r.journey_id, r.step_id, contact_id = row[:5]
        contact, account_id, account = row[5 : 5 + width], row[5 + width], row[6 + width :]
        r.contact = _Record(pk=contact_id, id=contact_id, **dict(zip(_CONTACT_FIELDS, contact, strict=True)))
        r.account = (
            None
            if account_id is None
            else _Record(pk=account_id, **dict(zip(_ACCOUNT_FIELDS, account, strict=True)))
        )
        out.append(r)
    return out


def _skip_blocked(rows: list[Recipient], claim: int) -> list[Recipient]:
    """Consent decided again at send time (anything that changed since the step ran counts): one
    query per journey; the blocked rows become `skipped` with their reason in one statement."""
    journeys = Journey.objects.in_bulk({r.journey_id for r in rows})
    allowed, skipped = [], []
    for journey_id, group in _group_by(rows, lambda r: r.journey_id).items():
        journey = journeys[journey_id]
        blocked = adapters.marketing_email_block_reasons(
            [r.contact.pk for r in group],
            min_consent_level=journey.min_consent_level,
            subscription_list_id=journey.subscription_list_id,
        )
        for r in group:
            if r.contact.pk in blocked:
                skipped.append((r.id, blocked[r.contact.pk]))
            else:
                allowed.append(r)
    for reason, group in _group_by(skipped, lambda pair: pair[1]).items():  # one statement per reason
        OutboundEmail.objects.filter(id__in=[i for i, _ in group], claim_id=claim).update(
            status=OutboxStatus.SKIPPED, skip_reason=reason, claim_id=None
        )
    allowed.sort(key=lambda r: r.id)
    return allowed


def send_claimed(claimed: list[int], claim: int) -> int:
    """Send outbox rows already claimed (status sending) under `claim`, whose lock this connection
    holds: re-check consent (to email, and to tracking: pixel and tracked links only for contacts who
    allow it), render each from its step's prepared template, hand them to one email backend
    connection one message at a time, and mark each sent right after its call returns."""
    if not claimed:
        return 0
    try:
        allowed = _skip_blocked(_recipients(claimed), claim)
        if not allowed:
            return 0
        steps = Step.objects.in_bulk({r.step_id for r in allowed})
        prepared = {step_id: emails.prepare(step) for step_id, step in steps.items()}
        needs_lead = {r.contact.pk for r in allowed if "lead" in prepared[r.step_id].needs}
        leads = _latest_leads(needs_lead)
        unsubscribe_url = adapters.subscription_center_url_builder()
        return _send_all(allowed, prepared, leads, unsubscribe_url, claim)
    finally:
        finalize_claim(claim)


def _send_all(allowed: list[Recipient], prepared: dict, leads: dict, unsubscribe_url, claim: int) -> int:
    mail = get_connection(fail_silently=False)
    mail.open()
    try:
        marks = SentMarks()  # from here on the session commits marks asynchronously, until close()
        try:
            return _send_each(allowed, prepared, leads, unsubscribe_url, claim, mail, marks)
        finally:
            marks.close()
    finally:
        mail.close()


def _send_each(allowed, prepared, leads, unsubscribe_url, claim, mail, marks) -> int:
    sent = 0
    for row in allowed:
        # Built while the previous message's mark is on its way to the database.
        message = emails.build_message(
            prepared[row.step_id],
            outbox_id=row.id,
            to=row.contact.email,
            records={"contact": row.contact, "account": row.account, "lead": leads.get(row.contact.pk)},
            track=adapters.tracking_allowed(row.contact),  # consent read with the batch: no query
            unsubscribe_url=unsubscribe_url(row.contact),
        )
        marks.wait()  # the previous mark is committed before the next SMTP call
        try:
            mail.send_messages([message])
        except Exception as error:  # SMTP refused or failed: back to pending for a later sweep
            logger.warning("journey email %s not sent: %s", row.id, error)
            final = row.attempts >= setting("JOURNEYS_SEND_MAX_ATTEMPTS", 5)
            OutboundEmail.objects.filter(pk=row.id, claim_id=claim).update(
                status=OutboxStatus.FAILED if final else OutboxStatus.PENDING,
                claim_id=None,
                error=str(error)[:2000],
            )
            continue
        marks.send(row.id)
        sent += 1
    return sent


class SentMarks:
    """The durable "SMTP accepted it" mark of each email: `UPDATE ... SET sent_at` committed on its
    own (autocommit) right after the backend call returns. Only `sent_at` changes (no indexed column),
    so PostgreSQL can make it a HOT update.

    On PostgreSQL the mark goes out as a prepared statement on the libpq connection and is flushed at
    once; its result is read (`wait`) just before the next SMTP call, so the next message is rendered
    while the mark travels, and there is never more than one email whose mark is not yet confirmed
    (as with a synchronous round trip). Elsewhere it is a plain ORM update.

    Marks are committed with `synchronous_commit=off` unless JOURNEYS_DURABLE_SEND_MARKS is on: a
    worker crash cannot lose them (PostgreSQL has the mark once it has run the statement); a crash of
    PostgreSQL itself could lose the last fraction of a second of them (those emails would go again).
    """

    STATEMENT = "journeys_mark_sent"

    def __init__(self):
        self.in_flight = False
        self.postgres = postgres_sql()
        self.durable = setting("JOURNEYS_DURABLE_SEND_MARKS", False)
        if not self.postgres:
            return
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
        now = timezone.now()
        if not self.postgres:
            OutboundEmail.objects.filter(pk=outbox_id).update(sent_at=now)
            return
        params = [now.isoformat().encode(), str(outbox_id).encode()]
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
            if self.postgres and not self.durable:
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


def finalize_claim(claim: int) -> int:
    """Set-based end of a claim: rows marked as accepted become `sent` with an email_sent interaction
    each (one statement), announced as crm_core's interaction notices (live segments, scoring); rows
    never accepted go back to `pending`. Run by the sender when its batch is done, and by the tick for
    the claims of dead senders.

    Committed without waiting for the WAL flush: if a database crash lost it, the rows would still be
    `sending` with their marks under a claim nobody holds, and the tick would finish them again."""
    if not postgres_sql():
        return _finalize_claim_portable(claim)
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


def _finalize_claim_portable(claim: int) -> int:
    with transaction.atomic():
        claimed = OutboundEmail.objects.filter(claim_id=claim, status=OutboxStatus.SENDING)
        sent = list(
            claimed.filter(sent_at__isnull=False).values_list(
                "id", "contact_id", "journey_id", "step_id", "step__key", "sent_at"
            )
        )
        interactions_record(
            rows=[
                {
                    "contact_id": contact_id,
                    "kind": InteractionKind.EMAIL_SENT,
                    "occurred_at": sent_at,
                    "properties": {"journey": journey_id, "step": step_id, "email": key, "outbox": pk},
                }
                for pk, contact_id, journey_id, step_id, key, sent_at in sent
            ]
        )
        OutboundEmail.objects.filter(id__in=[row[0] for row in sent]).update(
            status=OutboxStatus.SENT, claim_id=None
        )
        claimed.filter(sent_at__isnull=True).update(status=OutboxStatus.PENDING, claim_id=None)
    return len(sent)


def _group_by(rows, key) -> dict:
    groups: dict = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return groups


def _latest_leads(contact_ids: set[int]) -> dict[int, Lead]:
    if not contact_ids:
        return {}
    leads = Lead.objects.filter(parent_contact_id__in=contact_ids).order_by(
        "parent_contact_id", "-created_at", "-id"
    )
    if postgres_sql():
        return {lead.parent_contact_id: lead for lead in leads.distinct("parent_contact_id")}
    latest: dict[int, Lead] = {}
    for lead in leads:
        latest.setdefault(lead.parent_contact_id, lead)
    return latest


def release_dead_claims() -> int:
    """Finish the claims of senders whose connection is gone (their advisory lock is free): what they
    had handed to SMTP is `sent`, the rest goes back to `pending`. A live sender holds its lock, so
    its rows are never taken from it. On the portable path (no locks) a claim older than
    JOURNEYS_DISPATCH_LEASE_SECONDS is dead: a sender task is killed at CELERY_TASK_TIME_LIMIT."""
    released = 0
    sending = OutboundEmail.objects.filter(status=OutboxStatus.SENDING)
    if not postgres_sql():
        cutoff = timezone.now() - timedelta(seconds=setting("JOURNEYS_DISPATCH_LEASE_SECONDS", 600))
        sending = sending.filter(Q(claimed_at__lt=cutoff) | Q(claimed_at__isnull=True))
        for claim in list(sending.values_list("claim_id", flat=True).distinct()):
            finalize_claim(claim)
            released += 1
        return released
    claims = sending.values_list("claim_id", flat=True).distinct()
    for claim in list(claims):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [ADVISORY_NAMESPACE, claim])
            if cursor.fetchone()[0]:
                finalize_claim(claim)
                released += 1
    return released


def pending_outbox_ids(*, older_than: datetime, limit: int) -> list[int]:
    return list(
        OutboundEmail.objects.filter(status=OutboxStatus.PENDING, created_at__lt=older_than)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )


def live_journeys():
    return Journey.objects.filter(status=JourneyStatus.LIVE)
