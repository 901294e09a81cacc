"""Writes to the sales app's tables: activities, tasks, notifications and user settings.

Keyword-only functions named `<entity>_<verb>`, each in one transaction, taking the acting user
(`actor`). Who may do what is decided by `crm_core.access` (reps edit their own activities and tasks,
admins any; marketers only read). Other apps create tasks only through `tasks_create` (set-based:
the journeys' create-task step) or the scoring hand-off's notice (`handoff_follow_up`), and never
write these tables themselves.

- `activity.py`: log, change and delete activities; `records.py`: the record an item is about.
- `task.py`: tasks by hand and set-based (`tasks_create`, SQL or rows).
- `notification.py`: notifications and their emails, overdue tasks, marketing touches.
- `handoff.py`: the follow-up of a scoring hand-off (call task, notification, hand-off email).
- `user_settings.py`: email preferences and the queue's last visit.
"""

from .activity import ACTIVITY_FIELDS, activity_delete, activity_log, activity_update
from .handoff import (
    HANDOFF_EMAIL_MAX_LEADS,
    HANDOFF_TASK_DUE,
    HANDOFF_TASK_TITLE,
    handoff_emails_send,
    handoff_follow_up,
)
from .notification import (
    MARKETING_TOUCH_QUIET,
    OVERDUE_BATCH,
    notification_emails_send,
    notifications_create,
    notifications_mark_read,
    notify_marketing_touches,
    tasks_overdue_notify,
    users_wanting_email,
)
from .records import RECORD_FIELDS
from .task import TASK_FIELDS, TaskTarget, task_complete, task_create, task_delete, task_update, tasks_create
from .user_settings import queue_visit_record, user_settings_update

__all__ = [
    "ACTIVITY_FIELDS",
    "HANDOFF_EMAIL_MAX_LEADS",
    "HANDOFF_TASK_DUE",
    "HANDOFF_TASK_TITLE",
    "MARKETING_TOUCH_QUIET",
    "OVERDUE_BATCH",
    "RECORD_FIELDS",
    "TASK_FIELDS",
    "TaskTarget",
    "activity_delete",
    "activity_log",
    "activity_update",
    "handoff_emails_send",
    "handoff_follow_up",
    "notification_emails_send",
    "notifications_create",
    "notifications_mark_read",
    "notify_marketing_touches",
    "queue_visit_record",
    "task_complete",
    "task_create",
    "task_delete",
    "task_update",
    "tasks_create",
    "tasks_overdue_notify",
    "user_settings_update",
    "users_wanting_email",
]
