"""Honeypot, form token, rate limit, body and field limits: each answers clearly and loses nothing valid."""

import uuid

import pytest

from crm_core.models import Contact
from landing.abuse import form_token_make
from landing.models import FormSubmission, SubmissionStatus
from landing.tests.factories import LandingPageFactory
from landing.tests.utils import submit

pytestmark = pytest.mark.django_db


def _fresh_ip() -> str:
    # Rate-limit counters live in Redis across test runs: a fresh address per test keeps them apart.
    raw = uuid.uuid4().int
    return f"10.{raw % 250}.{(raw >> 8) % 250}.{(raw >> 16) % 250 + 1}"


def test_a_filled_honeypot_is_answered_like_success_kept_as_spam_and_not_processed(web, page):
    response = submit(web, page, email="bot@example.com", last_name="Bot", _website="http://spam.example")

    assert response.status_code == 200
    assert page.thank_you_message in response.content.decode()
    submission = FormSubmission.objects.get()
    assert submission.status == SubmissionStatus.SPAM
    assert submission.payload["email"] == "bot@example.com"
    assert not Contact.objects.exists()


def test_the_rate_limit_answers_429_with_the_typed_values_and_does_not_touch_other_addresses(
    web, page, settings
):
    settings.LANDING_RATE_LIMIT = "2/minute"
    ip = _fresh_ip()
    for n in range(2):
        assert submit(web, page, ip=ip, email=f"r{n}@example.com", last_name="R").status_code == 200

    response = submit(web, page, ip=ip, email="third@example.com", last_name="Third")

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    html = response.content.decode()
    assert 'value="third@example.com"' in html and 'value="Third"' in html  # nothing typed is lost
    assert FormSubmission.objects.count() == 2
    assert submit(web, page, ip=_fresh_ip(), email="other@example.com", last_name="O").status_code == 200


def test_the_rate_limit_counts_the_forwarded_address_only_behind_a_trusted_proxy(web, page, settings):
    settings.LANDING_RATE_LIMIT = "1/minute"
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = _fresh_ip()
    for n in range(2):
        response = web.post(
            f"/l/{page.slug}/",
            {"_token": form_token_make(page=page), "email": f"p{n}@example.com", "last_name": "P"},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=f"1.2.3.4, {_fresh_ip()}",
        )
        assert response.status_code == 200
    assert set(FormSubmission.objects.values_list("ip_address", flat=True)) != {proxy}


def test_a_body_over_the_limit_is_413_and_a_normal_one_passes(web, page, settings):
    settings.LANDING_MAX_BODY_BYTES = 2000
    response = submit(web, page, email="big@example.com", last_name="B", message="x" * 3000)
    assert response.status_code == 413
    assert not FormSubmission.objects.exists()

    assert submit(web, page, email="small@example.com", last_name="S", message="x" * 500).status_code == 200
    assert FormSubmission.objects.get().status == SubmissionStatus.PROCESSED


@pytest.mark.parametrize("token", ["", "forged:token", "expired"])
def test_a_missing_forged_or_expired_form_token_is_refused_with_the_form_refilled(web, page, settings, token):
    if token == "expired":
        token = form_token_make(page=page)
        settings.LANDING_FORM_TOKEN_MAX_AGE = -1
    response = submit(web, page, token=token, email="late@example.com", last_name="Late")

    assert response.status_code == 403
    assert 'value="late@example.com"' in response.content.decode()
    assert not FormSubmission.objects.exists() and not Contact.objects.exists()


def test_a_token_of_another_page_is_refused(web, page):
    other = LandingPageFactory()
    response = submit(web, page, token=form_token_make(page=other), email="x@example.com", last_name="X")
    assert response.status_code == 403


def test_the_form_works_without_a_csrf_cookie_so_it_can_be_embedded(page):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    assert submit(client, page, email="embed@example.com", last_name="E").status_code == 200


def test_nul_characters_and_a_forged_forwarded_address_do_not_break_storage(web, page, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    response = web.post(
        f"/l/{page.slug}/",
        {
            "_token": form_token_make(page=page),
            "email": "nul@example.com",
            "last_name": "N\x00ul",
            "x\x00": "y",
        },
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="not-an-address",
    )
    assert response.status_code == 200
    submission = FormSubmission.objects.get()
    assert submission.payload["last_name"] == "Nul" and submission.ip_address == "127.0.0.1"
    assert submission.status == SubmissionStatus.PROCESSED


def test_too_many_fields_is_a_400_not_a_500(web, page, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    data = {"_token": form_token_make(page=page), "email": "f@example.com", "last_name": "F"}
    data.update({f"extra{n}": "x" for n in range(20)})
    assert web.post(f"/l/{page.slug}/", data).status_code == 400
    assert not FormSubmission.objects.exists()
