"""GET /l/<slug>/ prefills only for a recognised contact (signed link) who allows it."""

import pytest

from crm_core.tests.factories import ContactFactory
from crm_core.tokens import PURPOSE_PREFERENCES, PURPOSE_PREFILL, contact_token_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def known():
    return ContactFactory(
        email="known@example.com", first_name="Known", last_name="Person", allow_prefill=True
    )


def _html(web, page, query=""):
    response = web.get(f"/l/{page.slug}/{query}")
    assert response.status_code == 200
    return response, response.content.decode()


def test_a_valid_prefill_link_of_a_contact_who_allows_it_prefills_the_form(web, page, known):
    token = contact_token_make(contact=known, purpose=PURPOSE_PREFILL)
    response, html = _html(web, page, f"?ct={token}")
    assert 'value="known@example.com"' in html and 'value="Known"' in html and 'value="Person"' in html
    assert "no-store" in response["Cache-Control"]


def test_no_prefill_without_allow_prefill(web, page, known):
    known.allow_prefill = False
    known.save()
    _, html = _html(web, page, f"?ct={contact_token_make(contact=known, purpose=PURPOSE_PREFILL)}")
    assert "known@example.com" not in html


@pytest.mark.parametrize(
    "query",
    [
        "?email=known@example.com",
        "?contact=1&ct=1",
        "?ct=not-a-token",
    ],
)
def test_no_prefill_from_guessable_or_bad_parameters(web, page, known, query):
    _, html = _html(web, page, query)
    assert "known@example.com" not in html and "Known" not in html


def test_no_prefill_from_a_token_made_for_another_purpose_or_expired(web, page, known, settings):
    preferences_token = contact_token_make(contact=known, purpose=PURPOSE_PREFERENCES)
    _, html = _html(web, page, f"?ct={preferences_token}")
    assert "known@example.com" not in html

    token = contact_token_make(contact=known, purpose=PURPOSE_PREFILL)
    settings.CONTACT_TOKEN_MAX_AGE = -1
    _, html = _html(web, page, f"?ct={token}")
    assert "known@example.com" not in html
