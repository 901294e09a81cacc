"""Taking a submission in: kept first, in a transaction of its own, so nothing that goes wrong later
can lose it; then processed at once (a failure is kept and retried). Posts the spool kept on disk
during a database outage (landing.spool) are stored here when the database answers again.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from .. import spool
from ..abuse import form_token_valid
from ..models import FormSubmission, LandingPage, SubmissionStatus
from .processing import submission_process
from .retries import processing_enqueue, submission_failure_record

logger = logging.getLogger(__name__)


def submission_store(
    *, page: LandingPage, payload: dict, ip_address: str | None, user_agent: str, spam: bool = False
) -> FormSubmission:
    """Keep the raw submission, committed on its own before any processing."""
    with transaction.atomic(durable=True):
        return FormSubmission.objects.create(
            page=page,
            payload=payload,
            received_at=timezone.now(),
            ip_address=ip_address,
            user_agent=(user_agent or "")[:500],
            status=SubmissionStatus.SPAM if spam else SubmissionStatus.PENDING,
        )


def submission_store_spooled(*, record: dict) -> FormSubmission | None:
    """Store a post the spool kept during a database outage (landing.spool), once, and queue it.

    The spool id travels in the payload, so a post stored before its file was removed is found and
    not stored again. A post whose page is gone or no longer live is dropped with a log line.
    """
    payload = {**record["payload"], spool.SPOOL_ID: record[spool.SPOOL_ID]}
    if FormSubmission.objects.filter(**{f"payload__{spool.SPOOL_ID}": record[spool.SPOOL_ID]}).exists():
        return None
    page = LandingPage.objects.filter(slug=record["slug"]).first()
    if page is None:
        logger.error("spooled post %s names no page %r; dropped", record[spool.SPOOL_ID], record["slug"])
        return None
    if record.get("token") is not None and not form_token_valid(page=page, token=record["token"]):
        record = {**record, "spam": True}  # kept for review, never processed: the form token was bad
    with transaction.atomic(durable=True):
        submission = FormSubmission.objects.create(
            page=page,
            payload=payload,
            received_at=record["received_at"],
            ip_address=record.get("ip_address"),
            user_agent=record.get("user_agent", "")[:500],
            status=SubmissionStatus.SPAM if record.get("spam") else SubmissionStatus.PENDING,
        )
    if submission.status == SubmissionStatus.PENDING:
        processing_enqueue(submission.pk, countdown=0)
    return submission


def spool_drain(*, limit: int = 500) -> int:
    """Store spooled posts (oldest first) and queue their processing; returns how many were stored.

    Raises while the database is still away (the post stays spooled for the next drain).
    """
    stored = 0
    for path, record in spool.spooled_posts(limit=limit):
        submission_store_spooled(record=record)
        spool.spooled_post_remove(path)
        stored += 1
    return stored


def submission_receive(*, submission: FormSubmission) -> FormSubmission:
    """Process a just-stored submission now; on failure keep it, record why and queue its retry."""
    if submission.status != SubmissionStatus.PENDING:
        return submission
    try:
        return submission_process(submission_id=submission.pk)
    except Exception as exc:
        logger.exception("processing submission %s failed; it is kept and will be retried", submission.pk)
        submission_failure_record(submission_id=submission.pk, error=exc, schedule_retry=True)
        submission.refresh_from_db()
        return submission
