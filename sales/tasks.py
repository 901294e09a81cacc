"""Thin Celery tasks over the sales services; each is safe to run twice."""

from celery import shared_task
from django.db import OperationalError

from . import services


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def tasks_overdue_notify_task() -> int:
    """Beat: tell owners about tasks that went past due (once per task; batches until none are left)."""
    total = 0
    while True:
        told = services.tasks_overdue_notify()
        total += told
        if told < services.OVERDUE_BATCH:
            return total
