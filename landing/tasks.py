"""Thin Celery tasks over landing services, named `landing.<what>`; services queue them by name.

- `landing.submission_process`: process one stored submission; retried (with a growing delay)
  only while the error is transient and the submission says `retrying`.
- `landing.submissions_retry_unfinished` (beat): queue every submission still unfinished after a
  while, e.g. one whose task was lost with the broker, or whose error was not transient.
- `landing.spool_drain` (beat): store the form posts kept on disk during a database outage.
"""

from celery import shared_task
from django.conf import settings

from crm_core.tasking import TRANSIENT_ERRORS

from . import services
from .models import FormSubmission, SubmissionStatus


@shared_task(name=services.SUBMISSION_PROCESS_TASK, bind=True, max_retries=10, acks_late=True)
def submission_process_task(self, submission_id: int) -> str:
    """Process one stored submission; safe to run twice (a processed one is left alone).

    Every failure is recorded on the submission (`submission_failure_record`): a permanent error
    or the last of LANDING_MAX_ATTEMPTS makes it `failed`, anything else `retrying`. This task
    retries it, with a growing delay, only when the error is transient (a lost connection, a lock
    timeout, a deadlock); one that is not (a programming error) waits for the periodic sweep, which
    stops at the last attempt like every other retry. A worker that dies mid-task leaves the
    message unacknowledged (acks_late), so another worker runs it again.
    """
    try:
        submission = services.submission_process(submission_id=submission_id)
    except FormSubmission.DoesNotExist:
        return "missing"
    except Exception as exc:
        status = services.submission_failure_record(
            submission_id=submission_id, error=exc, schedule_retry=False
        )
        if status != SubmissionStatus.RETRYING or not isinstance(exc, TRANSIENT_ERRORS):
            return status or "finished elsewhere"
        countdown = min(3600, settings.LANDING_RETRY_DELAY_SECONDS * 2**self.request.retries)
        raise self.retry(exc=exc, countdown=countdown) from exc
    return submission.status


@shared_task(name="landing.submissions_retry_unfinished")
def submissions_retry_unfinished() -> int:
    """Periodic sweep: queue every submission still pending or retrying after a while (broker was down)."""
    ids = services.submissions_unfinished_ids(older_than_seconds=settings.LANDING_SWEEP_AFTER_SECONDS)
    for submission_id in ids:
        submission_process_task.delay(submission_id)
    return len(ids)


@shared_task(name="landing.spool_drain")
def spool_drain_task() -> int:
    """Store the form posts kept on disk during a database outage (landing.spool)."""
    return services.spool_drain()
