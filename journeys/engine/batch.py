"""What a batch holds while a worker runs it, and what a step handler sees and returns.

A handler is `(step, members, batch) -> {enrollment id: Outcome}`: `members` are the batch's
enrollments due at that step (as `Due` rows), and the outcome says whether each advances (on the
`next` or `else` branch, recording an execution, maybe queueing an email), parks until a time, or
exits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crm_core.models import Contact

from ..models import EnrollmentState, ExecutionOutcome, Journey


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

    def finish(self, state: str, reason: str, now: datetime) -> None:
        """Leave the journey: completed (no current step) or exited (at the step it was on)."""
        self.state = state
        self.exit_reason = reason
        self.finished_at = now
        self.next_run_at = None
        self.current_step_id = None if state == EnrollmentState.COMPLETED else self.current_step_id


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
