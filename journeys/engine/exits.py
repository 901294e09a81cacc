"""Leaving a journey before its end: a contact whose lead became sales-ready (if the journey says
so), who is in the suppression segment, or who meets the exit condition. The tick applies exits to
every open enrollment of a journey at once; a worker applies them to its batch before running any
step."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db.models import Exists, OuterRef, Q

from crm_core.models import Contact, Lead

from .. import adapters
from ..models import OPEN_STATES, EnrollmentState, Journey
from ..models import Enrollment as EnrollmentModel
from .batch import Batch


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


def exit_batch(batch: Batch, journeys: dict[int, Journey]) -> None:
    """The batch's enrollments whose contact meets an exit condition leave (one query per journey
    and condition)."""
    by_journey: dict[int, list] = defaultdict(list)
    for e in batch.enrollments:
        by_journey[e.journey_id].append(e)
    for journey_id, members in by_journey.items():
        for q, reason in exit_q(journeys[journey_id]):
            ids = [e.contact_id for e in members]
            leaving = set(Contact.objects.filter(q, id__any_of=ids).values_list("id", flat=True))
            for e in members:
                if e.contact_id in leaving and e.state in OPEN_STATES:
                    e.finish(EnrollmentState.EXITED, reason, batch.now)
