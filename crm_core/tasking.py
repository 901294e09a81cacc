"""How every app's Celery tasks are declared and enqueued (one way for all of them).

- **Names** are `<app>.<what it does>` (`segments.refresh`, `journeys.tick`), given explicitly with
  `name=`; the beat schedule and `enqueue()` use these names.
- **Retries** happen only on transient errors (`TRANSIENT_ERRORS`: a lost database or broker
  connection, a deadlock or serialization failure, a mail server that hung up), never on a
  programming error: spread `RETRY_TRANSIENT` into `@shared_task(...)`. Every task is safe to run
  twice, so a retry or a redelivery after a dead worker changes nothing that was already done.
- **Enqueueing by name** (`enqueue("segments.refresh", segment_id)`): a service never imports its
  own app's `tasks` module (tasks import services; the reverse would be a circle). The task object
  is looked up in the app's registry, so eager mode and routing behave as with `.delay()`.
"""

import smtplib

from celery import current_app
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,  # deadlock, serialization failure, lost connection, database restarting
    InterfaceError,  # the connection was closed under us
    BrokerOperationalError,
    RedisConnectionError,
    RedisTimeoutError,
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
    ConnectionError,  # OS-level: refused, reset
    TimeoutError,
)

RETRY_TRANSIENT = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": True,
    "retry_jitter": True,
    "max_retries": 5,
}


def task_by_name(name: str):
    """The registered task called `name` (every app's tasks module is imported first if it is not
    registered yet: that import also runs Django's system checks, through Celery's Django fixup, so
    doing it on every call would cost tens of milliseconds per enqueue)."""
    if name not in current_app.tasks:
        current_app.loader.import_default_modules()
    return current_app.tasks[name]


def enqueue(name: str, *args, **kwargs):
    """Send the task called `name` with these arguments (as `.delay()` would)."""
    return task_by_name(name).apply_async(args=args, kwargs=kwargs)


def enqueue_with(name: str, args: tuple = (), kwargs: dict | None = None, **options):
    """Send the task called `name` with Celery options (countdown, queue, ...)."""
    return task_by_name(name).apply_async(args=args, kwargs=kwargs or {}, **options)
