"""The processing task retries a failed submission itself only when the error is transient."""

import pytest
from django.db import OperationalError

from landing import services
from landing.models import FormSubmission, SubmissionStatus
from landing.tasks import submission_process_task

pytestmark = pytest.mark.django_db


def _failing_with(monkeypatch, error: Exception) -> list[int]:
    calls = []

    def fail(*, submission_id):
        calls.append(submission_id)
        raise error

    monkeypatch.setattr(services, "submission_process", fail)
    return calls


def _stored(page) -> FormSubmission:
    return FormSubmission.objects.create(page=page, payload={}, received_at="2026-01-01T00:00Z")


def test_a_transient_error_is_retried_by_the_task_until_the_last_attempt(page, settings, monkeypatch):
    settings.LANDING_MAX_ATTEMPTS = 3
    calls = _failing_with(monkeypatch, OperationalError("the database went away"))
    submission = _stored(page)
    # Run eagerly, a retry runs at once; the failure record stops it at the last attempt.
    assert submission_process_task.apply(args=[submission.pk]).get() == SubmissionStatus.FAILED
    submission.refresh_from_db()
    assert (submission.status, submission.attempts, len(calls)) == (SubmissionStatus.FAILED, 3, 3)


def test_a_programming_error_is_kept_retrying_for_the_sweep_but_not_retried_by_the_task(page, monkeypatch):
    calls = _failing_with(monkeypatch, KeyError("a bug"))
    submission = _stored(page)
    assert submission_process_task.apply(args=[submission.pk]).get() == SubmissionStatus.RETRYING
    submission.refresh_from_db()
    assert (submission.status, submission.attempts, len(calls)) == (SubmissionStatus.RETRYING, 1, 1)
    assert submission.error == "KeyError: 'a bug'"
