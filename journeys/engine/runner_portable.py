"""A batch's writes through the ORM (the embedded SQLite default): `bulk_create` and `bulk_update`."""

from __future__ import annotations

from ..models import Enrollment as EnrollmentModel
from ..models import StepExecution
from .batch import Due, Execution


def insert_executions(executions: list[Execution]) -> list[int]:
    """The executions' ids in input order. The unique (enrollment, seq) constraint fails the whole
    transaction if a step was already recorded."""
    created = StepExecution.objects.bulk_create(
        [StepExecution(**{f: getattr(x, f) for f in Execution.__slots__}) for x in executions]
    )
    return [x.pk for x in created]


def save_enrollments(enrollments: list[Due]) -> None:
    """The batch's new enrollment states; the lease ends (`dispatched_at` back to NULL)."""
    fields = ["current_step_id", "state", "next_run_at", "seq", "step_started_at", "finished_at"]
    EnrollmentModel.objects.bulk_update(
        [
            EnrollmentModel(id=e.id, **{f: getattr(e, f) for f in fields}, exit_reason=e.exit_reason)
            for e in enrollments
        ],
        [*fields, "exit_reason", "dispatched_at"],
    )
