"""Writes to the sales app's tables: activities, tasks, notifications and user settings.

Keyword-only functions named `<entity>_<verb>`, each in one transaction, taking the acting user
(`actor`). Who may do what is decided by `crm_core.access` (reps edit their own activities and tasks,
admins any; marketers only read). Other apps create tasks only through `tasks_create` (set-based:
the journeys' create-task step and the scoring hand-off) and never write these tables themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from crm_core import access
from crm_core.models import Account, Contact, Lead, LeadStatus, Opportunity
from crm_core.services.sql import SqlRows

from .models import (
    Activity,
    ActivityKind,
    Notification,
    NotificationKind,
    Task,
    TaskSource,
    UserSettings,
)

log = logging.getLogger(__name__)

RECORD_FIELDS = ("contact", "lead", "account", "opportunity")
HANDOFF_TASK_TITLE = "Call within 24 h"
HANDOFF_TASK_DUE = timedelta(hours=24)
# A lead's owner hears about marketing touches at most once per this period while unread.
MARKETING_TOUCH_QUIET = timedelta(hours=24)
OVERDUE_BATCH = 5_000


# --- The related record -------------------------------------------------------------------------


def _links(*, contact=None, lead=None, account=None, opportunity=None) -> dict:
    """The record an item is about (exactly one) plus the contact and account it belongs to."""
    given = dict(zip(RECORD_FIELDS, (contact, lead, account, opportunity), strict=True))
    named = [name for name, value in given.items() if value is not None]
    if len(named) != 1:
        raise ValidationError({"record": ["Name exactly one of contact, lead, account or opportunity."]})
    if contact is not None:
        return {"contact_id": contact.pk, "account_id": contact.parent_account_id}
    if lead is not None:
        account_id = lead.parent_account_id
        if account_id is None and lead.parent_contact_id:
            account_id = (
                Contact.objects.filter(pk=lead.parent_contact_id)
                .values_list("parent_account_id", flat=True)
                .first()
            )
        return {"lead_id": lead.pk, "contact_id": lead.parent_contact_id, "account_id": account_id}
    if opportunity is not None:
        return {
            "opportunity_id": opportunity.pk,
            "contact_id": opportunity.contact_id,
            "account_id": opportunity.account_id,
            "lead_id": opportunity.originating_lead_id,
        }
    return {"account_id": account.pk}


def _checked(instance) -> None:
    try:
        instance.full_clean(exclude=["contact", "lead", "account", "opportunity", "author", "owner"])
    except ValidationError as error:
        raise ValidationError(error.message_dict) from error


# --- Activities -----------------------------------------------------------------------------------

ACTIVITY_FIELDS = (
    "kind",
    "subject",
    "body",
    "outcome",
    "duration_minutes",
    "meeting_at",
    "attendees",
    "occurred_at",
)


def _activity_rules(activity: Activity) -> None:
    errors = {}
    if activity.kind != ActivityKind.CALL and activity.outcome:
        errors["outcome"] = ["Only calls have an outcome."]
    if (
        activity.kind not in (ActivityKind.CALL, ActivityKind.MEETING)
        and activity.duration_minutes is not None
    ):
        errors["duration_minutes"] = ["Only calls and meetings have a duration."]
    if activity.kind != ActivityKind.MEETING and (activity.meeting_at or activity.attendees):
        errors["meeting_at" if activity.meeting_at else "attendees"] = [
            "Only meetings have a time and attendees."
        ]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def activity_log(
    *,
    actor,
    kind: str,
    subject: str,
    body: str = "",
    outcome: str = "",
    duration_minutes: int | None = None,
    meeting_at: datetime | None = None,
    attendees: str = "",
    occurred_at: datetime | None = None,
    contact: Contact | None = None,
    lead: Lead | None = None,
    account: Account | None = None,
    opportunity: Opportunity | None = None,
) -> Activity:
    """Log a note, call, meeting or email on one record. A meeting happens at `meeting_at`."""
    access.check_activity_log(actor)
    if occurred_at is None:
        occurred_at = meeting_at if kind == ActivityKind.MEETING and meeting_at else timezone.now()
    activity = Activity(
        kind=kind,
        subject=subject,
        body=body,
        outcome=outcome,
        duration_minutes=duration_minutes,
        meeting_at=meeting_at,
        attendees=attendees,
        occurred_at=occurred_at,
        author=actor,
        **_links(contact=contact, lead=lead, account=account, opportunity=opportunity),
    )
    _checked(activity)
    _activity_rules(activity)
    activity.save()
    return activity


@transaction.atomic
def activity_update(*, actor, activity: Activity, **fields) -> Activity:
    """Change an activity's own fields (not the record it is about)."""
    activity = Activity.objects.select_for_update().get(pk=activity.pk)
    access.check_activity_edit(actor, activity)
    unknown = set(fields) - set(ACTIVITY_FIELDS)
    if unknown:
        raise ValidationError({name: ["Cannot be changed."] for name in sorted(unknown)})
    for name, value in fields.items():
        setattr(activity, name, value)
    _checked(activity)
    _activity_rules(activity)
    activity.save(update_fields=[*fields] or None)
    return activity


@transaction.atomic
def activity_delete(*, actor, activity: Activity) -> None:
    access.check_activity_edit(actor, activity)
    Activity.objects.filter(pk=activity.pk).delete()


# --- Tasks ----------------------------------------------------------------------------------------

TASK_FIELDS = ("title", "description", "due_at", "owner")


@transaction.atomic
def task_create(
    *,
    actor,
    title: str,
    description: str = "",
    due_at: datetime | None = None,
    owner=None,
    contact: Contact | None = None,
    lead: Lead | None = None,
    account: Account | None = None,
    opportunity: Opportunity | None = None,
) -> Task:
    """A task by hand; its owner is the actor unless named (only admins assign to someone else)."""
    owner = owner or actor
    access.check_task_assign(actor, owner)
    task = Task(
        title=title,
        description=description,
        due_at=due_at,
        owner=owner,
        source=TaskSource.MANUAL,
        created_by=actor,
        created_at=timezone.now(),
        **_links(contact=contact, lead=lead, account=account, opportunity=opportunity),
    )
    _checked(task)
    task.save()
    if owner.pk != actor.pk:
        notifications_create(
            kind=NotificationKind.TASK_ASSIGNED,
            rows=[(owner.pk, f"New task from {actor.get_username()}: {title}", task.lead_id, task.pk)],
        )
    return task


@transaction.atomic
def task_update(*, actor, task: Task, **fields) -> Task:
    """Change a task's title, description, due date or owner."""
    task = Task.objects.select_for_update().get(pk=task.pk)
    access.check_task_edit(actor, task)
    unknown = set(fields) - set(TASK_FIELDS)
    if unknown:
        raise ValidationError({name: ["Cannot be changed."] for name in sorted(unknown)})
    new_owner = fields.get("owner", task.owner)
    if "owner" in fields and (new_owner is None or new_owner.pk != task.owner_id):
        if new_owner is None:
            raise ValidationError({"owner": ["A task needs an owner."]})
        access.check_task_assign(actor, new_owner)
    for name, value in fields.items():
        setattr(task, name, value)
    if "due_at" in fields:
        task.overdue_notified_at = None
        fields["overdue_notified_at"] = None
    _checked(task)
    task.save(update_fields=[*fields] or None)
    if "owner" in fields and new_owner.pk != actor.pk:
        notifications_create(
            kind=NotificationKind.TASK_ASSIGNED,
            rows=[(new_owner.pk, f"Task assigned to you: {task.title}", task.lead_id, task.pk)],
        )
    return task


@transaction.atomic
def task_complete(*, actor, task: Task, done: bool = True) -> Task:
    """Mark a task done (or open again); completing a done task changes nothing."""
    task = Task.objects.select_for_update().get(pk=task.pk)
    access.check_task_edit(actor, task)
    if done and task.done_at is None:
        task.done_at, task.done_by = timezone.now(), actor
    elif not done and task.done_at is not None:
        task.done_at, task.done_by = None, None
    else:
        return task
    task.save(update_fields=["done_at", "done_by"])
    return task


@transaction.atomic
def task_delete(*, actor, task: Task) -> None:
    access.check_task_edit(actor, task)
    Task.objects.filter(pk=task.pk).delete()


@dataclass(frozen=True)
class TaskTarget:
    owner_id: int | None
    contact_id: int | None = None
    lead_id: int | None = None


def tasks_create(
    *,
    title: str,
    source: str,
    targets: SqlRows | Iterable[TaskTarget],
    description: str = "",
    due_at: datetime | None = None,
    journey_id: int | None = None,
    now: datetime | None = None,
) -> int:
    """Set-based: one task per target (owner, contact, lead), notifying each owner. Returns the count.

    `targets`: TaskTarget rows, or on PostgreSQL `SqlRows` whose columns are (owner_id, contact_id,
    lead_id); a lead's contact and account are filled from the lead. Journey tasks notify
    "task assigned", hand-off tasks "lead handed over" (its email is the hand-off email).
    """
    now = now or timezone.now()
    kind = NotificationKind.HANDOFF if source == TaskSource.HANDOFF else NotificationKind.TASK_ASSIGNED
    message = f"Lead handed to you: {title}" if source == TaskSource.HANDOFF else f"New task: {title}"
    with transaction.atomic():
        if isinstance(targets, SqlRows):
            return _tasks_create_sql(
                targets,
                title=title,
                description=description,
                due_at=due_at,
                source=source,
                journey_id=journey_id,
                now=now,
                kind=kind,
                message=message,
            )
        targets = list(targets)
        if not targets:
            return 0
        lead_links = {
            pk: (contact_id, account_id or contact_account)
            for pk, contact_id, account_id, contact_account in Lead.objects.filter(
                pk__in={t.lead_id for t in targets if t.lead_id}
            ).values_list("pk", "parent_contact_id", "parent_account_id", "parent_contact__parent_account_id")
        }
        contact_ids = {t.contact_id for t in targets if t.contact_id}
        contact_accounts = dict(
            Contact.objects.filter(pk__in=contact_ids).values_list("pk", "parent_account_id")
        )
        tasks = []
        for t in targets:
            contact_id, account_id = lead_links.get(t.lead_id, (None, None))
            contact_id = t.contact_id or contact_id
            account_id = account_id or contact_accounts.get(contact_id)
            tasks.append(
                Task(
                    title=title,
                    description=description,
                    due_at=due_at,
                    owner_id=t.owner_id,
                    source=source,
                    journey_id=journey_id,
                    created_at=now,
                    contact_id=contact_id,
                    lead_id=t.lead_id,
                    account_id=account_id,
                )
            )
        Task.objects.bulk_create(tasks, batch_size=2_000)
        notifications_create(
            kind=kind,
            rows=[(t.owner_id, message, t.lead_id, t.pk) for t in tasks if t.owner_id is not None],
            now=now,
            email=kind != NotificationKind.HANDOFF,
        )
        return len(tasks)


def _tasks_create_sql(
    targets: SqlRows, *, title, description, due_at, source, journey_id, now, kind, message
) -> int:
    task_table, note_table = Task._meta.db_table, Notification._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            {targets.with_clause()}{"," if targets.ctes else "WITH"} made AS (
                INSERT INTO {task_table} (title, description, due_at, owner_id, source, journey_id,
                                          created_at, contact_id, lead_id, account_id)
                SELECT %s, %s, %s, t.owner_id, %s, %s, %s,
                       COALESCE(t.contact_id, l.parentcontactid), t.lead_id,
                       COALESCE(l.parent_account_id, c.parent_account_id)
                FROM {targets.relation()} t(owner_id, contact_id, lead_id)
                LEFT JOIN crm_core_lead l ON l.id = t.lead_id
                LEFT JOIN crm_core_contact c ON c.id = COALESCE(t.contact_id, l.parentcontactid)
                ORDER BY t.lead_id, t.contact_id
                RETURNING id, owner_id, lead_id
            ), told AS (
                INSERT INTO {note_table} (user_id, kind, message, lead_id, task_id, created_at)
                SELECT owner_id, %s, %s, lead_id, id, %s FROM made WHERE owner_id IS NOT NULL
            )
            SELECT owner_id FROM made
            """,
            [
                *targets.cte_params,
                title,
                description,
                due_at,
                source,
                journey_id,
                now,
                *targets.params,
                kind,
                message[:300],
                now,
            ],
        )
        owners = [owner_id for (owner_id,) in cursor.fetchall()]
    if kind != NotificationKind.HANDOFF:
        _emails_on_commit(kind, [(owner_id, message) for owner_id in owners if owner_id is not None])
    return len(owners)


# --- Notifications --------------------------------------------------------------------------------


def notifications_create(
    *, kind: str, rows: Iterable[tuple[int, str, int | None, int | None]], now=None, email: bool = True
) -> int:
    """Tell users something: rows (user_id, message, lead_id, task_id). Emails, after commit, go to
    the users whose settings ask for this kind by email."""
    now = now or timezone.now()
    made = Notification.objects.bulk_create(
        [
            Notification(
                user_id=user_id,
                kind=kind,
                message=message[:300],
                lead_id=lead_id,
                task_id=task_id,
                created_at=now,
            )
            for user_id, message, lead_id, task_id in rows
        ],
        batch_size=2_000,
    )
    if email and made:
        _emails_on_commit(kind, [(n.user_id, n.message) for n in made])
    return len(made)


def users_wanting_email(kind: str, user_ids: Iterable[int]) -> set[int]:
    """Of `user_ids`, those whose settings (defaults when they have none) want `kind` by email."""
    user_ids = set(user_ids)
    field = UserSettings.email_field(kind)
    default = UserSettings._meta.get_field(field).default
    explicit = dict(UserSettings.objects.filter(user_id__in=user_ids).values_list("user_id", field))
    return {pk for pk in user_ids if explicit.get(pk, default)}


def _emails_on_commit(kind: str, user_messages: list[tuple[int, str]]) -> None:
    if user_messages:
        transaction.on_commit(lambda: notification_emails_send(kind=kind, user_messages=user_messages))


def notification_emails_send(*, kind: str, user_messages: list[tuple[int, str]]) -> int:
    """One email per user listing their new notifications of `kind` (if their settings want it)."""
    wanted = users_wanting_email(kind, {user_id for user_id, _ in user_messages})
    by_user: dict[int, list[str]] = {}
    for user_id, message in user_messages:
        if user_id in wanted:
            by_user.setdefault(user_id, []).append(message)
    users = get_user_model().objects.filter(pk__in=list(by_user)).exclude(email="")
    label = NotificationKind(kind).label
    link = f"{settings.SITE_URL}{reverse('sales:notifications')}"
    messages = [
        EmailMessage(
            f"Nurture: {label.lower()}" + (f" ({len(by_user[u.pk])})" if len(by_user[u.pk]) > 1 else ""),
            "\n".join(f"- {m}" for m in by_user[u.pk][:50]) + f"\n\nOpen them in Nurture: {link}\n",
            settings.DEFAULT_FROM_EMAIL,
            [u.email],
        )
        for u in users
    ]
    if not messages:
        return 0
    try:
        return get_connection().send_messages(messages) or 0
    except Exception:  # the notifications are committed; a mail failure must not undo them
        log.exception("could not send %d notification email(s)", len(messages))
        return 0


@transaction.atomic
def notifications_mark_read(*, actor, ids: Iterable[int] | None = None) -> int:
    """Mark the actor's notifications read (all unread ones when `ids` is None)."""
    unread = Notification.objects.filter(user=actor, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=timezone.now())


def notify_marketing_touches(*, contact_ids: Iterable[int], now: datetime | None = None) -> int:
    """Owners of open leads (marketing qualified or accepted) whose contacts just interacted again hear
    of it, once per lead while that notice is unread (within MARKETING_TOUCH_QUIET). Set-based: per
    chunk of contacts one read of the leads and one insert."""
    now = now or timezone.now()
    ids = sorted(set(contact_ids))
    told = 0
    for start in range(0, len(ids), OVERDUE_BATCH):
        chunk = ids[start : start + OVERDUE_BATCH]
        recent = Notification.objects.filter(
            kind=NotificationKind.MARKETING_TOUCH,
            read_at__isnull=True,
            created_at__gte=now - MARKETING_TOUCH_QUIET,
            lead__parent_contact_id__in=chunk,
        ).values("lead_id")
        leads = (
            Lead.objects.filter(
                parent_contact_id__in=chunk,
                owner__isnull=False,
                status__in=[LeadStatus.MARKETING_QUALIFIED, LeadStatus.SALES_ACCEPTED],
            )
            .exclude(pk__in=recent)
            .values_list("pk", "owner_id", "topic", "first_name", "last_name")
        )
        with transaction.atomic():
            told += notifications_create(
                kind=NotificationKind.MARKETING_TOUCH,
                rows=[
                    (
                        owner_id,
                        f"{_person(first, last, topic)} is active again: new marketing activity",
                        lead_id,
                        None,
                    )
                    for lead_id, owner_id, topic, first, last in leads
                ],
                now=now,
            )
    return told


def _person(first: str, last: str, topic: str) -> str:
    name = " ".join(part for part in (first, last) if part)
    return f"{name} ({topic})" if name else topic


def tasks_overdue_notify(*, now: datetime | None = None) -> int:
    """Tell owners about their open tasks past due, once per task (until its due date changes)."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Task.objects.select_for_update(skip_locked=True)
            .filter(
                done_at__isnull=True, overdue_notified_at__isnull=True, due_at__lt=now, owner__isnull=False
            )
            .order_by("due_at", "id")
            .values_list("pk", "owner_id", "title", "lead_id")[:OVERDUE_BATCH]
        )
        if not due:
            return 0
        Task.objects.filter(pk__in=[row[0] for row in due]).update(overdue_notified_at=now)
        return notifications_create(
            kind=NotificationKind.TASK_OVERDUE,
            rows=[(owner_id, f"Overdue: {title}", lead_id, pk) for pk, owner_id, title, lead_id in due],
            now=now,
        )


# --- User settings --------------------------------------------------------------------------------


def queue_visit_record(*, actor, now: datetime | None = None) -> datetime | None:
    """Record that the actor opened their queue now; returns the previous visit (None the first time).
    Two statements (a read and an update; an insert the first time); two tabs racing both get an
    earlier visit, which is harmless."""
    now = now or timezone.now()
    mine = UserSettings.objects.filter(user=actor)
    previous = mine.values_list("queue_seen_at", flat=True).first()
    if not mine.update(queue_seen_at=now):
        UserSettings.objects.bulk_create([UserSettings(user=actor, queue_seen_at=now)], ignore_conflicts=True)
    return previous


@transaction.atomic
def user_settings_update(*, actor, **fields) -> UserSettings:
    row, _ = UserSettings.objects.select_for_update().get_or_create(user=actor)
    for name, value in fields.items():
        if not name.startswith("email_"):
            raise ValidationError({name: ["Cannot be changed."]})
        setattr(row, name, bool(value))
    row.save()
    return row
