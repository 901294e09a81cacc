"""Leasing due enrollments through the ORM (the embedded SQLite default): read, then mark, in one
transaction (SQLite lets one writer in at a time)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from ..models import OPEN_STATES, JourneyStatus
from ..models import Enrollment as EnrollmentModel


def lease_due(
    *, now: datetime, limit: int, after: tuple[datetime, int] | None, lease: timedelta
) -> list[tuple]:
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
