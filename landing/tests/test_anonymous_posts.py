"""Anonymous posts do not rewrite known people; their consent increases wait for an emailed confirmation."""

import re

import pytest
from django.core import mail

from crm_core.models import ConsentChange, ConsentLevel, ConsentSource, Contact
from crm_core.tests.factories import ContactFactory
from crm_core.tokens import PURPOSE_PREFERENCES, PURPOSE_PREFILL, contact_token_make
from landing.tests.utils import submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def known():
    return ContactFactory(email="known@example.com", first_name="", last_name="Person", consent_level=0)


def test_an_anonymous_match_by_email_fills_empty_fields_but_never_overwrites(web, page, known):
    submit(web, page, email="known@example.com", first_name="Mallory", last_name="Evil")
    known.refresh_from_db()
    assert (known.first_name, known.last_name) == ("Mallory", "Person")
    submit(web, page, email="known@example.com", first_name="Other", last_name="Evil")
    known.refresh_from_db()
    assert known.first_name == "Mallory"


def test_an_anonymous_consent_increase_is_pending_until_confirmed_by_email(
    web, page, known, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        submit(web, page, email="known@example.com", last_name="Person", _consent="on")
    known.refresh_from_db()
    assert known.consent_level == 0 and known.pending_consent_level == page.consent_level
    assert not ConsentChange.objects.filter(contact=known, field="consent_level").exists()
    [message] = mail.outbox
    assert message.to == ["known@example.com"]
    link = re.search(r"http://[^\s]+/consent/confirm/[^\s]+/", message.body).group(0)
    path = link.split("8000", 1)[1]

    preferences = web.get(f"/preferences/{contact_token_make(contact=known, purpose=PURPOSE_PREFERENCES)}/")
    assert 'data-testid="consent-pending"' in preferences.content.decode()
    asked = web.get(path)  # a scanner following the link changes nothing
    assert asked.status_code == 200 and "Yes, that was me" in asked.content.decode()
    known.refresh_from_db()
    assert known.consent_level == 0

    confirmed = web.post(path)
    assert 'data-testid="consent-confirmed"' in confirmed.content.decode()
    known.refresh_from_db()
    assert known.consent_level == page.consent_level and known.pending_consent_level is None
    change = ConsentChange.objects.get(contact=known, field="consent_level")
    assert change.source == ConsentSource.EMAIL_CONFIRMATION


def test_a_visitor_identified_by_a_signed_link_may_update_when_the_page_allows(web, page, known):
    page.identified_visitors_update = True
    page.save()
    token = contact_token_make(contact=known, purpose=PURPOSE_PREFILL)
    form = web.get(f"/l/{page.slug}/?ct={token}").content.decode()
    assert f'name="_ct" value="{token}"' in form
    submit(
        web, page, email="known@example.com", first_name="Kim", last_name="Renamed", _ct=token, _consent="on"
    )
    known.refresh_from_db()
    assert (known.first_name, known.last_name) == ("Kim", "Renamed")
    assert known.consent_level == page.consent_level and not mail.outbox


def test_a_new_person_still_gets_their_consent_at_once(web, page):
    submit(web, page, email="new@example.com", last_name="New", _consent="on")
    assert Contact.objects.get(email="new@example.com").consent_level == ConsentLevel.MARKETING
