"""A merge racing form posts of the person it merges: whichever runs first, nothing is duplicated or
lost. The merge locks both contacts (then their leads) in the person lock order; a post that waited
for the merged-away contact's lock carries on with the survivor, and a later post with the old
address finds the survivor too."""

import threading

import pytest
from django.db import connection

from crm_core.models import Contact, Interaction, InteractionKind, Lead
from crm_core.services import contacts_merge
from crm_core.tests.factories import ContactFactory
from landing.models import FormSubmission, SubmissionStatus
from landing.services import submission_process, submission_store
from landing.tests.factories import LandingPageFactory

PAIRS, POSTS = 4, 3


def _together(jobs):
    errors = []
    barrier = threading.Barrier(len(jobs))

    def run(job):
        try:
            barrier.wait(timeout=20)
            job()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return errors


@pytest.mark.django_db(transaction=True)
def test_form_posts_racing_a_merge_land_on_the_survivor_once(settings):
    settings.LANDING_LOCK_TIMEOUT_MS = 60_000  # waiting is fine; a lost or duplicated record is not
    page = LandingPageFactory()
    pairs = [
        (
            ContactFactory(email=f"keep{n}@example.com", first_name="Pat", last_name=f"P{n}"),
            ContactFactory(email=f"old{n}@example.com", first_name="Pat", last_name=f"P{n}"),
        )
        for n in range(PAIRS)
    ]
    posts = {
        keep.pk: [
            submission_store(
                page=page,
                payload={"email": other.email, "first_name": "Pat", "last_name": other.last_name},
                ip_address=None,
                user_agent="",
            ).pk
            for _ in range(POSTS)
        ]
        for keep, other in pairs
    }
    jobs = [lambda pk=pk: submission_process(submission_id=pk) for ids in posts.values() for pk in ids]
    jobs += [lambda k=keep, o=other: contacts_merge(survivor_id=k.pk, other_id=o.pk) for keep, other in pairs]

    errors = _together(jobs)

    assert not errors, errors
    assert Contact.objects.count() == PAIRS  # no contact made again for an old address
    for keep, _other in pairs:
        submissions = FormSubmission.objects.filter(pk__in=posts[keep.pk])
        assert {s.status for s in submissions} == {SubmissionStatus.PROCESSED}
        assert {s.contact_id for s in submissions} == {keep.pk}
        # One lead for the page's topic (the posts share it), and every post's interaction, on the survivor.
        assert Lead.objects.filter(parent_contact=keep, topic=page.lead_topic).count() == 1
        assert Interaction.objects.filter(contact=keep, kind=InteractionKind.FORM_SUBMIT).count() == POSTS
    # A post after the merge with the old address finds the survivor.
    keep, other = pairs[0]
    later = submission_store(
        page=page, payload={"email": other.email, "first_name": "Pat", "last_name": other.last_name},
        ip_address=None, user_agent="",
    )  # fmt: skip
    submission_process(submission_id=later.pk)
    later.refresh_from_db()
    assert later.contact_id == keep.pk and Contact.objects.count() == PAIRS
