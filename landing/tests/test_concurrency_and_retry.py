"""Real concurrency (threads with their own connections) and the retry of failed processing (real worker)."""

import threading

import pytest
from django.db import connection, transaction
from django.test import Client

from conftest import wait_until
from crm_core.models import Contact, Interaction, Lead
from crm_core.tests.factories import ContactFactory
from landing.models import FormSubmission, LeadMatching, SubmissionStatus
from landing.tests.factories import LandingPageFactory
from landing.tests.utils import submit

THREADS = 8


def _post_concurrently(page, emails):
    barrier = threading.Barrier(len(emails))
    statuses, errors = [], []

    def worker(email):
        try:
            client = Client()
            barrier.wait(timeout=10)
            statuses.append(submit(client, page, email=email, last_name="Race").status_code)
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(email,)) for email in emails]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return statuses


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("known", [False, True], ids=["new-person", "known-contact"])
def test_concurrent_submissions_with_one_email_make_one_contact_and_one_lead(known):
    page = LandingPageFactory(lead_matching=LeadMatching.SAME_TOPIC)
    if known:
        ContactFactory(email="race@example.com", last_name="Race")  # nothing to update: no row lock by chance
    emails = [("Race@Example.com" if n % 2 else "race@example.COM ") for n in range(THREADS)]

    statuses = _post_concurrently(page, emails)

    assert statuses == [200] * THREADS
    assert Contact.objects.filter(email="race@example.com").count() == 1
    assert Contact.objects.count() == 1
    assert Lead.objects.count() == 1
    assert Interaction.objects.count() == THREADS
    assert FormSubmission.objects.filter(status=SubmissionStatus.PROCESSED).count() == THREADS


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_with_always_new_make_one_contact_and_a_lead_each():
    page = LandingPageFactory(lead_matching=LeadMatching.ALWAYS_NEW)

    _post_concurrently(page, ["many@example.com"] * THREADS)

    assert Contact.objects.count() == 1
    assert Lead.objects.filter(parent_contact__email="many@example.com").count() == THREADS


def _hold_contact_lock(contact_id, locked: threading.Event, release: threading.Event):
    try:
        with transaction.atomic():
            Contact.objects.select_for_update().get(pk=contact_id)
            locked.set()
            release.wait(timeout=30)
    finally:
        connection.close()


@pytest.mark.worker
def test_a_submission_whose_processing_fails_is_kept_and_processed_by_the_retry(
    celery_worker_process, settings
):
    settings.LANDING_LOCK_TIMEOUT_MS = 300  # the web request gives up quickly on the held row...
    settings.LANDING_RETRY_DELAY_SECONDS = 1  # ...and the worker retries a second later
    page = LandingPageFactory()
    contact = ContactFactory(email="busy@example.com", first_name="")  # an anonymous post fills empty fields
    locked, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_contact_lock, args=(contact.pk, locked, release))
    holder.start()
    assert locked.wait(timeout=10)

    try:
        response = submit(Client(), page, email="busy@example.com", first_name="New", last_name="Busy")
        submission = FormSubmission.objects.get()
        assert response.status_code == 200  # the person is told it arrived: it is stored and will be retried
        assert submission.status == SubmissionStatus.RETRYING
        assert "lock" in submission.error.lower()
        assert not Lead.objects.exists()  # the failed attempt left nothing half-done
    finally:
        release.set()
        holder.join(timeout=30)

    wait_until(
        lambda: FormSubmission.objects.filter(pk=submission.pk, status=SubmissionStatus.PROCESSED).exists(),
        timeout=30,
    )
    submission.refresh_from_db()
    assert submission.attempts >= 2 and submission.error == ""
    contact.refresh_from_db()
    assert contact.first_name == "New"
    assert Lead.objects.get().parent_contact == contact
    assert Interaction.objects.filter(contact=contact).count() == 1
    assert "landing.submission_process" in celery_worker_process.log_path.read_text()


@pytest.mark.django_db(transaction=True)
def test_concurrent_processing_of_one_known_contacts_submissions_updates_one_open_lead():
    from landing.services import submission_process, submission_store

    page = LandingPageFactory(lead_matching=LeadMatching.SAME_TOPIC)
    ContactFactory(email="known@example.com", last_name="Known")  # nothing to update: no incidental row lock
    ids = [
        submission_store(
            page=page,
            payload={"email": "known@example.com", "last_name": "Known"},
            ip_address=None,
            user_agent="",
        ).pk
        for _ in range(THREADS)
    ]
    barrier = threading.Barrier(THREADS)
    errors = []

    def worker(submission_id):
        try:
            barrier.wait(timeout=10)
            submission_process(submission_id=submission_id)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    assert Lead.objects.count() == 1
    assert Interaction.objects.count() == THREADS
