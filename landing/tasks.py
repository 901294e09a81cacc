"""Thin Celery tasks over landing services: the retry of a submission whose processing failed."""

from celery import shared_task
from django.conf import settings

from . import services
from .models import FormSubmission, SubmissionStatus


@shared_task(bind=True, max_retries=10, acks_late=True)
def submission_process_task(self, submission_id: int) -> str:
    """Process one stored submission; safe to run twice (a processed one is left alone).

    Retried with a growing delay while the failure record says `retrying`; once it says `failed`
    (a permanent error, or LANDING_MAX_ATTEMPTS used up) it stops."""
    try:
        submission = services.submission_process(submission_id=submission_id)
    except FormSubmission.DoesNotExist:
        return "missing"
    except Exception as exc:
        status = services.submission_failure_record(
            submission_id=submission_id, error=exc, schedule_retry=False
        )
        if status != SubmissionStatus.RETRYING:
            return status or "finished elsewhere"
        countdown = min(3600, settings.LANDING_RETRY_DELAY_SECONDS * 2**self.request.retries)
        raise self.retry(exc=exc, countdown=countdown) from exc
    return submission.status


@shared_task
def submissions_retry_unfinished() -> int:
    """Periodic sweep: queue every submission still pending or retrying after a while (broker was down)."""
    ids = services.submissions_unfinished_ids(older_than_seconds=settings.LANDING_SWEEP_AFTER_SECONDS)
    for submission_id in ids:
        submission_process_task.delay(submission_id)
    return len(ids)


@shared_task
def spool_drain_task() -> int:
    """Store the form posts kept on disk during a database outage (landing.spool)."""
    from .spool import spool_drain

    return spool_drain()
