import pytest
from django.test import Client

from landing.tests.factories import LandingPageFactory


@pytest.fixture(autouse=True)
def _generous_rate_limit(settings):
    # Most tests post many times from 127.0.0.1; the rate-limit tests set their own limit and address.
    settings.LANDING_RATE_LIMIT = "100000/minute"


@pytest.fixture
def page(db):
    return LandingPageFactory()


@pytest.fixture
def web():
    return Client()
