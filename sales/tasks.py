"""Thin Celery tasks over the sales services; each is safe to run twice.

Named `sales.<what>`; the beat runs `sales.notify_overdue_tasks`. Retries only on transient errors.
"""

from celery import shared_task

from crm_core.tasking import RETRY_TRANSIENT

from . import services


@shared_task(name="sales.notify_overdue_tasks", **RETRY_TRANSIENT)
def tasks_overdue_notify_task() -> int:
    """Beat: tell owners about tasks that went past due (once per task; batches until none are left)."""
    total = 0
    while True:
        told = services.tasks_overdue_notify()
        total += told
        if told < services.OVERDUE_BATCH:
            return total
