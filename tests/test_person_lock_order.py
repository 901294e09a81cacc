"""Form posts and rescoring of one person take the person's rows in one order: no deadlock."""

import threading

import pytest
from django.db import connection

from crm_core.models import InteractionKind, Lead
from crm_core.tests.factories import ContactFactory
from landing.models import FormSubmission, LeadMatching, SubmissionStatus
from landing.services import submission_process, submission_store
from landing.tests.factories import LandingPageFactory
from leadscoring.services import contacts_rescore
from leadscoring.tests.factories import PrimaryScoringModelFactory, ScoringRuleFactory

POSTS, RESCORERS = 8, 3


def _run_together(posts, rescore, stop):
    errors = []
    barrier = threading.Barrier(len(posts) + RESCORERS)

    def post(submission_id):
        try:
            barrier.wait(timeout=20)
            submission_process(submission_id=submission_id)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    def rescorer():
        try:
            barrier.wait(timeout=20)
            while not stop.is_set():
                rescore()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(pk,)) for pk in posts]
    rescorers = [threading.Thread(target=rescorer) for _ in range(RESCORERS)]
    for thread in [*threads, *rescorers]:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    stop.set()
    for thread in rescorers:
        thread.join(timeout=120)
    return errors


@pytest.mark.django_db(transaction=True)
def test_form_posts_and_rescoring_of_one_person_do_not_deadlock(settings):
    settings.LANDING_LOCK_TIMEOUT_MS = 60_000  # waiting is fine here; only a deadlock is a failure
    model = PrimaryScoringModelFactory(sales_ready_threshold=15)
    ScoringRuleFactory(model=model, interaction_kind=InteractionKind.FORM_SUBMIT, points=10, max_count=None)
    page = LandingPageFactory(lead_matching=LeadMatching.SAME_TOPIC)
    contact = ContactFactory(email="busy@example.com", last_name="Busy", first_name="")
    lead = Lead.objects.create(topic=page.lead_topic, parent_contact=contact, email=contact.email)
    Lead.objects.create(topic="Another", parent_contact=contact, email=contact.email)
    posts = [
        submission_store(
            page=page,
            payload={
                "email": "busy@example.com",
                "last_name": "Busy",
                "first_name": f"N{n}",
                "company": f"C{n}",
            },
            ip_address=None,
            user_agent="",
        ).pk
        for n in range(POSTS)
    ]

    errors = _run_together(posts, lambda: contacts_rescore(contact_ids=[contact.pk]), threading.Event())

    assert not errors, errors
    assert FormSubmission.objects.filter(status=SubmissionStatus.PROCESSED).count() == POSTS
    assert Lead.objects.filter(parent_contact=contact, topic=page.lead_topic).get() == lead
