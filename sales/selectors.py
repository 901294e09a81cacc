"""Reads of the sales pages: a record's open tasks, a rep's due tasks, notifications."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from .models import Notification, Task

RECORD_FIELDS = {
    "contact": "contact_id",
    "lead": "lead_id",
    "account": "account_id",
    "opportunity": "opportunity_id",
}


def record_open_tasks(entity: str, pk: int, limit: int = 50) -> list[Task]:
    return list(
        Task.objects.filter(**{RECORD_FIELDS[entity]: pk}, done_at__isnull=True)
        .select_related("owner")
        .order_by("due_at", "id")[:limit]
    )


def end_of_today(now: datetime | None = None) -> datetime:
    now = timezone.localtime(now or timezone.now())
    return timezone.make_aware(datetime.combine(now.date() + timedelta(days=1), time.min), now.tzinfo)


def user_open_tasks(user, limit: int = 50) -> QuerySet:
    """The user's open tasks by due date (overdue first, undated last), on the open-tasks index."""
    return (
        Task.objects.filter(owner=user, done_at__isnull=True)
        .select_related("lead", "contact", "account", "owner")
        .order_by("due_at", "id")[:limit]
    )


def open_tasks_by_lead(lead_ids: list[int]) -> dict[int, list[Task]]:
    out: dict[int, list[Task]] = {}
    for task in Task.objects.filter(lead_id__in=lead_ids, done_at__isnull=True).order_by("due_at", "id"):
        out.setdefault(task.lead_id, []).append(task)
    return out


def user_notifications(user, limit: int = 50) -> list[Notification]:
    return list(Notification.objects.filter(user=user).order_by("-created_at", "-id")[:limit])


def unread_count(user, cap: int = 99) -> int:
    """Unread notifications, counted up to `cap` (never a full COUNT of a long history)."""
    return len(
        Notification.objects.filter(user=user, read_at__isnull=True).values_list("id", flat=True)[: cap + 1]
    )


def queue_enrich(leads: list, *, since: datetime | None) -> None:
    """Give each lead of a queue page what a rep acts on, in a fixed number of queries whatever the
    page size: `reasons` (the top three rules of the primary model's score explanation, in words),
    `is_new` (handed over or created since `since`, the rep's previous visit) and `open_tasks`."""
    from django.db import DatabaseError, transaction

    from crm_core.models import LeadStatus, LeadStatusChange
    from leadscoring.services import leads_score_explain

    from .wording import top_reasons

    if not leads:
        return
    ids = [lead.pk for lead in leads]
    try:
        with transaction.atomic():  # a database that cannot run the explanation must not fail the page
            explained = leads_score_explain(lead_ids=ids)
    except DatabaseError:
        explained = {}
    new_ids: set[int] = set()
    if since is not None:
        new_ids = set(
            LeadStatusChange.objects.filter(
                lead_id__in=ids, to_status=LeadStatus.MARKETING_QUALIFIED, changed_at__gt=since
            ).values_list("lead_id", flat=True)
        )
    tasks = open_tasks_by_lead(ids)
    for lead in leads:
        lead.reasons = top_reasons(explained.get(lead.pk, []))
        lead.is_new = lead.pk in new_ids or (since is not None and lead.created_at > since)
        lead.open_tasks = tasks.get(lead.pk, [])


def journey_tasks(journey_id: int, limit: int = 50) -> list[Task]:
    """The latest tasks a journey's task step created (newest first, on the journey's index)."""
    return list(
        Task.objects.filter(journey_id=journey_id)
        .select_related("owner", "contact")
        .order_by("-created_at", "-id")[:limit]
    )
