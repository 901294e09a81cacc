import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("nurture")
# Every CELERY_* setting in config/settings.py configures the app.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Celery's Django fixup closes every database connection before and after each task, so each task
# would start a new PostgreSQL backend (and warm its caches) whatever CONN_MAX_AGE says. With a
# reuse count it never reaches, the fixup leaves them open (it still closes them in a new worker
# process), and tasks keep them the way Django keeps them between requests: for CONN_MAX_AGE,
# closed after an error that left them unusable (`close_old_connections`, below).
app.conf["CELERY_DB_REUSE_MAX"] = 2**62


@signals.task_prerun.connect
@signals.task_postrun.connect
def _close_old_connections(sender=None, **kwargs) -> None:
    if not getattr(getattr(sender, "request", None), "is_eager", False):
        from django.db import close_old_connections

        close_old_connections()
