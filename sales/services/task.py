"""Tasks: a rep's to-dos about a record, by hand (`task_*`) or set-based from other apps (`tasks_create`).

Journeys' create-task step calls `tasks_create`; the scoring hand-off reaches it through the
`leadscoring.events.leads_handed_off` notice (handoff.py). Other apps never write the Task table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from crm_core import access
from crm_core.models import Account, Contact, Lead, Opportunity
from crm_core.services.sql import SqlRows

from ..models import Notification, NotificationKind, Task, TaskSource
from .notification import emails_on_commit, notifications_create
from .records import own_fields_checked, record_links

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
        **record_links(contact=contact, lead=lead, account=account, opportunity=opportunity),
    )
    own_fields_checked(task)
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
    own_fields_checked(task)
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
    fields = {
        "title": title,
        "description": description,
        "due_at": due_at,
        "source": source,
        "journey_id": journey_id,
        "now": now,
    }
    with transaction.atomic():
        if isinstance(targets, SqlRows):
            return _tasks_create_sql(targets, **fields, kind=kind, message=message)
        tasks = _tasks_create_rows(list(targets), **fields)
        notifications_create(
            kind=kind,
            rows=[(t.owner_id, message, t.lead_id, t.pk) for t in tasks if t.owner_id is not None],
            now=now,
            email=kind != NotificationKind.HANDOFF,
        )
        return len(tasks)


def _tasks_create_rows(
    targets: list[TaskTarget], *, title, description, due_at, source, journey_id, now
) -> list[Task]:
    """The tasks of `targets` in one bulk insert (a lead's contact and account, or a contact's
    account, read for all targets in two queries)."""
    if not targets:
        return []
    lead_links = {
        pk: (contact_id, account_id or contact_account)
        for pk, contact_id, account_id, contact_account in Lead.objects.filter(
            pk__in={t.lead_id for t in targets if t.lead_id}
        ).values_list("pk", "parent_contact_id", "parent_account_id", "parent_contact__parent_account_id")
    }
    contact_ids = {t.contact_id for t in targets if t.contact_id}
    contact_accounts = dict(Contact.objects.filter(pk__in=contact_ids).values_list("pk", "parent_account_id"))
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
    return Task.objects.bulk_create(tasks, batch_size=2_000)


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
        emails_on_commit(kind, [(owner_id, message) for owner_id in owners if owner_id is not None])
    return len(owners)
