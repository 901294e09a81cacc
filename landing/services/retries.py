"""When processing fails: the failure kept on the submission, its retry queued, the failed ones
re-queued after a fix, and the sweep's list of submissions still unfinished.

The processing task is queued by its name, `landing.submission_process` (landing/tasks.py).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from crm_core import tasking

from ..models import FormSubmission, SubmissionStatus
from .processing import UNFINISHED_STATUSES, SubmissionPermanentError

logger = logging.getLogger(__name__)

SUBMISSION_PROCESS_TASK = "landing.submission_process"


def submission_failure_record(
    *, submission_id: int, error: BaseException, schedule_retry: bool
) -> str | None:
    """Record a failed attempt; the submission stays stored with its error.

    While attempts are left (LANDING_MAX_ATTEMPTS) and the error may pass, it is `retrying` (and
    the retry task is queued if asked); a permanent error or the last attempt makes it `failed`,
    which nothing retries until a marketer re-queues it. Returns the new status (None when the
    submission was no longer unfinished).
    """
    with transaction.atomic():
        submission = (
            FormSubmission.objects.select_for_update()
            .filter(pk=submission_id, status__in=UNFINISHED_STATUSES)
            .first()
        )
        if submission is None:
            return None
        submission.attempts += 1
        submission.error = f"{type(error).__name__}: {error}"[:5000]
        permanent = isinstance(error, SubmissionPermanentError)
        if permanent or submission.attempts >= settings.LANDING_MAX_ATTEMPTS:
            submission.status = SubmissionStatus.FAILED
            logger.error("submission %s failed for good: %s", submission_id, submission.error)
        else:
            submission.status = SubmissionStatus.RETRYING
            if schedule_retry:
                transaction.on_commit(lambda: processing_enqueue(submission_id))
        submission.save(update_fields=["attempts", "error", "status"])
    return submission.status


def processing_enqueue(submission_id: int, *, countdown: int | None = None) -> None:
    """Queue the processing task of a stored submission (by name: tasks import services, not the
    reverse), after LANDING_RETRY_DELAY_SECONDS unless `countdown` says otherwise."""
    try:
        tasking.enqueue_with(
            SUBMISSION_PROCESS_TASK,
            args=(submission_id,),
            countdown=settings.LANDING_RETRY_DELAY_SECONDS if countdown is None else countdown,
        )
    except Exception:  # broker down: the periodic sweep (landing.submissions_retry_unfinished) will find it
        logger.exception("could not queue the processing of submission %s", submission_id)


REQUEUE_AT_ONCE = 1000


def submissions_requeue(*, submissions: QuerySet[FormSubmission]) -> int:
    """Send the failed ones among `submissions` through processing again (after their page was
    fixed, say): back to pending with a fresh count of attempts, queued after commit. Processing
    is idempotent, so queueing one twice is harmless; past REQUEUE_AT_ONCE the sweep takes the rest.
    Returns how many were re-queued."""
    with transaction.atomic():
        ids = list(submissions.filter(status=SubmissionStatus.FAILED).order_by().values_list("pk", flat=True))
        FormSubmission.objects.filter(pk__in=ids, status=SubmissionStatus.FAILED).update(
            status=SubmissionStatus.PENDING, attempts=0
        )
        first = sorted(ids)[:REQUEUE_AT_ONCE]
        transaction.on_commit(lambda: [processing_enqueue(pk, countdown=0) for pk in first])
    return len(ids)


def submissions_unfinished_ids(*, older_than_seconds: int, limit: int = 1000) -> list[int]:
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(
        FormSubmission.objects.filter(status__in=UNFINISHED_STATUSES, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
