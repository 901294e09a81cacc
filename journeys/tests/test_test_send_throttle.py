"""The email editor's test send is throttled per user (its own rate, `email_test_send`, counted in the
Redis cache like the API's other throttles): the next one is a 429 that says when to try again."""

import pytest
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.test import override_settings
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from crm_core.tests.factories import MarketerFactory
from journeys import services
from journeys.email_views import STARTER_MJML

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def two_marketers():
    users = [MarketerFactory(username="mia"), MarketerFactory(username="max")]
    yield users
    cache.delete_many([f"throttle_email_test_send_{user.pk}" for user in users])


def test_the_rate_is_configured_with_the_other_throttles():
    assert api_settings.DEFAULT_THROTTLE_RATES["email_test_send"] == "10/hour"


def test_test_sends_beyond_the_rate_are_refused_per_user_with_when_to_retry(two_marketers):
    mia, max_ = two_marketers
    template = services.email_template_create(name="Hi", kind="marketing", subject="Hi", mjml=STARTER_MJML)
    url = f"/api/email-templates/{template.pk}/test-send/"
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "email_test_send": "2/hour"}
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
        client = _client(mia)
        statuses = [client.post(url, {"to": "qa@example.com"}, format="json").status_code for _ in range(3)]
        assert statuses == [202, 202, 429]
        refused = client.post(url, {"to": "qa@example.com"}, format="json")
        assert refused.status_code == 429
        detail = refused.json()["detail"]
        assert detail.startswith("Too many test emails: at most 2 per hour. Try again in ")
        assert detail.endswith(" minutes.")
        assert 3500 <= int(refused.headers["Retry-After"]) <= 3600
        # Other actions of the same user, and another user's test sends, are not held back.
        assert client.get(f"/api/email-templates/{template.pk}/").status_code == 200
        other = _client(max_).post(url, {"to": "qa@example.com"}, format="json")
        assert other.status_code == 202
    assert len(mail.outbox) == 3
