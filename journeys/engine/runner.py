"""Running one batch of enrollments (a worker's task): everything in ONE transaction.

Lock the enrollments that are still due (`FOR UPDATE SKIP LOCKED`: rows another worker holds are
skipped), apply exits, then run steps round by round: each round groups the due enrollments by their
current step and calls that step kind's handler once per group (`steps/`). Then write all step
executions, the outbox rows of the emails queued, and the enrollments' new states, each in one
statement (`runner_sql.py` / `runner_portable.py`, and `outbox.queue_emails`). After the commit the
task sends the batch's emails (`enrollments_run`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from crm_core import sqlpath

from ..models import OPEN_STATES, EnrollmentState, Journey, Step, StepKind
from ..models import Enrollment as EnrollmentModel
from . import outbox, runner_portable, runner_sql, sending
from .batch import Batch, Due, Execution, Outcome
from .exits import exit_batch
from .steps import HANDLERS

MAX_STEPS_PER_RUN = 50  # steps one enrollment may run in one batch (guards against loops)


def _statements():
    return runner_sql if sqlpath.postgres_sql() else runner_portable


def enrollments_run(*, enrollment_ids: list[int], now: datetime | None = None) -> int:
    """Run a batch of enrollments, then send the emails it queued (after its commit)."""
    with outbox.sender_claim() as claim:
        outbox_ids = run_batch(enrollment_ids=enrollment_ids, now=now, claim=claim)
        return sending.send_claimed(outbox_ids, claim)


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
        exit_batch(batch, journeys)
        _run_rounds(batch, steps)
        statements = _statements()
        execution_ids = statements.insert_executions(batch.executions) if batch.executions else []
        outbox_ids = outbox.queue_emails(
            [
                (execution_ids[index], e.pk, e.journey_id, batch.executions[index].step_id, e.contact_id)
                for index, e in batch.sends
            ],
            now,
            claim,
        )
        statements.save_enrollments(batch.enrollments)
    return outbox_ids


def lock_due(enrollment_ids: list[int], now: datetime) -> list[Due]:
    """Lock these enrollments (skipping rows another worker holds) that are still due in a live
    journey; in id order. Plain rows, not model instances: one query, cheap per row."""
    rows = list(
        EnrollmentModel.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(id__any_of=enrollment_ids, state__in=OPEN_STATES, next_run_at__lte=now)
        .filter(journey__status="live")
        .order_by("id")
        .values_list(*Due.COLUMNS)
    )
    if not rows:
        return []
    journeys = Journey.objects.in_bulk({row[1] for row in rows})
    return [Due(row, journeys[row[1]]) for row in rows]


def _run_rounds(batch: Batch, steps: dict[int, Step]) -> None:
    """Run steps until no enrollment of the batch is due (or MAX_STEPS_PER_RUN rounds): each round
    calls each step's handler once for the enrollments due at it."""
    now = batch.now
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
                    e.finish(EnrollmentState.COMPLETED, "", now)
                continue
            results = HANDLERS[step.kind](step, members, batch)
            for e in members:
                _apply(e, step, results[e.pk], batch, steps)


def _apply(e: Due, step: Step, result: Outcome, batch: Batch, steps: dict) -> None:
    """Record what the step did to this enrollment and move it on (or park it)."""
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
        e.finish(EnrollmentState.COMPLETED, "", now)
        return
    target = step.next_step_id if result.branch == "next" else step.else_step_id
    if target is None or target not in steps:
        e.finish(EnrollmentState.COMPLETED, "", now)
        return
    e.current_step_id = target
    e.state = EnrollmentState.ACTIVE
    e.step_started_at = now
    e.next_run_at = now
