"""Notifications: what a rep is told in the app and, if their settings ask for it, by email.

Hand-offs and task assignments are told by the services that make them (task.py, handoff.py); this
module also tells owners about overdue tasks (beat `sales.notify_overdue_tasks`) and about marketing
activity on the open leads they own (sales/apps.py subscribes to new interactions).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from crm_core.models import Lead, LeadStatus

from ..models import Notification, NotificationKind, Task, UserSettings

log = logging.getLogger(__name__)

# A lead's owner hears about marketing touches at most once per this period while unread.
MARKETING_TOUCH_QUIET = timedelta(hours=24)
OVERDUE_BATCH = 5_000


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
        emails_on_commit(kind, [(n.user_id, n.message) for n in made])
    return len(made)


def users_wanting_email(kind: str, user_ids: Iterable[int]) -> set[int]:
    """Of `user_ids`, those whose settings (defaults when they have none) want `kind` by email."""
    user_ids = set(user_ids)
    field = UserSettings.email_field(kind)
    default = UserSettings._meta.get_field(field).default
    explicit = dict(UserSettings.objects.filter(user_id__in=user_ids).values_list("user_id", field))
    return {pk for pk in user_ids if explicit.get(pk, default)}


def emails_on_commit(kind: str, user_messages: list[tuple[int, str]]) -> None:
    """After commit, `notification_emails_send` of these (user_id, message) rows."""
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
    chunk of contacts one read of the leads (an anti-join on the lead's unread recent notices), and
    one insert only when some owner is to be told (the common case, a contact without an owned open
    lead, costs that one read and no transaction)."""
    now = now or timezone.now()
    ids = sorted(set(contact_ids))
    told = 0
    for start in range(0, len(ids), OVERDUE_BATCH):
        chunk = ids[start : start + OVERDUE_BATCH]
        recent = Notification.objects.filter(
            lead_id=OuterRef("pk"),
            kind=NotificationKind.MARKETING_TOUCH,
            read_at__isnull=True,
            created_at__gte=now - MARKETING_TOUCH_QUIET,
        )
        leads = list(
            Lead.objects.filter(
                parent_contact_id__any_of=chunk,
                owner__isnull=False,
                status__in=[LeadStatus.MARKETING_QUALIFIED, LeadStatus.SALES_ACCEPTED],
            )
            .filter(~Exists(recent))
            .order_by()
            .values_list("pk", "owner_id", "topic", "first_name", "last_name")
        )
        if not leads:
            continue
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
