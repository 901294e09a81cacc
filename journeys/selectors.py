"""Reads of the journeys app: the journeys a user may see, and their stats."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, Q, QuerySet, Sum

from .models import (
    EnrollmentState,
    ExecutionOutcome,
    Journey,
    OutboundEmail,
    OutboxStatus,
    Step,
    StepExecution,
)


def journey_list() -> QuerySet[Journey]:
    """Journeys are marketing definitions: every role that may view them sees them all."""
    return Journey.objects.prefetch_related("steps")


def step_representation(step: Step, keys: dict[int, str]) -> dict:
    """A step as a journey definition lists it: its branches by the keys of their steps (`keys` maps
    the journey's step ids to keys)."""
    return {
        "id": step.pk,
        "key": step.key,
        "kind": step.kind,
        "config": step.config,
        "next": keys.get(step.next_step_id),
        "else": keys.get(step.else_step_id),
    }


def journey_stats(*, journey: Journey) -> dict:
    """Counts per journey and per step, in five grouped queries whatever the journey's size."""
    states = dict(journey.enrollments.values("state").annotate(n=Count("id")).values_list("state", "n"))
    entered = journey.enrollments.aggregate(n=Sum("entry_number"))["n"] or 0
    here: dict[int, dict[str, int]] = defaultdict(dict)
    for step_id, state, n in (
        journey.enrollments.filter(state__in=[EnrollmentState.ACTIVE, EnrollmentState.WAITING])
        .values("current_step", "state")
        .annotate(n=Count("id"))
        .values_list("current_step", "state", "n")
    ):
        here[step_id][state] = n
    executed: dict[int, dict[str, int]] = defaultdict(dict)
    for step_id, outcome, n in (
        StepExecution.objects.filter(journey=journey)
        .values("step", "outcome")
        .annotate(n=Count("id"))
        .values_list("step", "outcome", "n")
    ):
        executed[step_id][outcome] = n
    mail = {
        row["step"]: row
        for row in OutboundEmail.objects.filter(journey=journey)
        .values("step")
        .annotate(
            sent=Count("id", filter=Q(status=OutboxStatus.SENT)),
            opened=Count("id", filter=Q(first_opened_at__isnull=False)),
            clicked=Count("id", filter=Q(first_clicked_at__isnull=False)),
            skipped=Count("id", filter=Q(status=OutboxStatus.SKIPPED)),
            pending=Count("id", filter=Q(status__in=[OutboxStatus.PENDING, OutboxStatus.SENDING])),
        )
    }
    steps = []
    for step in Step.objects.filter(journey=journey).order_by("position", "id"):
        outcomes = executed.get(step.pk, {})
        m = mail.get(step.pk, {})
        steps.append(
            {
                "id": step.pk,
                "key": step.key,
                "kind": step.kind,
                "current": sum(here.get(step.pk, {}).values()),
                "waiting": here.get(step.pk, {}).get(EnrollmentState.WAITING, 0),
                "executed": sum(outcomes.values()),
                "yes": outcomes.get(ExecutionOutcome.YES, 0),
                "no": outcomes.get(ExecutionOutcome.NO, 0),
                "sent": m.get("sent", 0),
                "pending": m.get("pending", 0),
                "opened": m.get("opened", 0),
                "clicked": m.get("clicked", 0),
                "skipped_consent": outcomes.get(ExecutionOutcome.SKIPPED_CONSENT, 0) + m.get("skipped", 0),
            }
        )
    totals = {key: sum(s[key] for s in steps) for key in ("sent", "opened", "clicked", "skipped_consent")}
    return {
        "journey": journey.pk,
        "status": journey.status,
        "entered": entered,
        "active": states.get(EnrollmentState.ACTIVE, 0),
        "waiting": states.get(EnrollmentState.WAITING, 0),
        "completed": states.get(EnrollmentState.COMPLETED, 0),
        "exited": states.get(EnrollmentState.EXITED, 0),
        **totals,
        "steps": steps,
    }


def contact_enrollments(*, contact_id: int) -> list:
    """The journeys a contact is in or went through, with the step it is at (one query)."""
    from .models import Enrollment

    return list(
        Enrollment.objects.filter(contact_id=contact_id)
        .select_related("journey", "current_step")
        .order_by("-entered_at", "-id")
    )
