"""Throttles key on the real client address (TRUSTED_PROXY_COUNT), and failed logins are counted
per username, so neither a forged X-Forwarded-For nor rotating addresses buys more guesses."""

import uuid

import pytest
from django.conf import settings
from django.test import RequestFactory, override_settings
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from conftest import wait_until
from crm_core.login_limits import login_failures_clear
from crm_core.net import client_address
from crm_core.tests.factories import SalesRepFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"  # the factories' password
TOKEN_URL = "/api/auth/token/"


def _address() -> str:
    raw = uuid.uuid4().int
    return f"10.{raw % 250}.{(raw >> 8) % 250}.{(raw >> 16) % 250 + 1}"


@pytest.fixture
def username():
    name = f"rep-{uuid.uuid4().hex[:8]}"
    yield name
    login_failures_clear(name)


@pytest.fixture
def tight_lockout(settings):
    # Password hashing takes most of a second here: few failures lock, and the window is short.
    settings.LOGIN_FAILURE_LIMIT = 2
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 4


def _token(client, username, password, *, ip, forwarded=None):
    extra = {"REMOTE_ADDR": ip}
    if forwarded:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.post(TOKEN_URL, {"username": username, "password": password}, format="json", **extra)


@pytest.mark.parametrize(
    ("proxies", "meta", "expected"),
    [
        (0, {"REMOTE_ADDR": "10.0.0.9", "HTTP_X_FORWARDED_FOR": "1.2.3.4"}, "10.0.0.9"),
        (1, {"REMOTE_ADDR": "10.0.0.9", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 1.2.3.4"}, "1.2.3.4"),
        (2, {"REMOTE_ADDR": "10.0.0.9", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 1.2.3.4, 10.0.0.8"}, "1.2.3.4"),
        (2, {"REMOTE_ADDR": "10.0.0.9", "HTTP_X_FORWARDED_FOR": "1.2.3.4"}, "10.0.0.9"),  # too short
        (1, {"REMOTE_ADDR": "10.0.0.9", "HTTP_X_FORWARDED_FOR": "nonsense"}, "10.0.0.9"),
        (0, {"REMOTE_ADDR": "not-an-ip"}, None),
    ],
)
def test_the_client_address_trusts_only_the_configured_proxies(settings, proxies, meta, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    assert client_address(RequestFactory().get("/", **meta)) == expected


def test_wrong_passwords_with_rotating_forwarded_addresses_are_throttled():
    client, ip = APIClient(), _address()
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "anon": "5/minute"}
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
        statuses = [
            _token(client, f"nobody-{n}", "wrong", ip=ip, forwarded=_address()).status_code for n in range(75)
        ]
    assert statuses == [400] * 5 + [429] * 70


def test_a_locked_username_is_refused_from_a_new_address_until_the_window_ends(username, tight_lockout):
    SalesRepFactory(username=username)
    client = APIClient()
    assert [_token(client, username, "wrong", ip=_address()).status_code for _ in range(2)] == [400, 400]

    locked = _token(client, username, PASSWORD, ip=_address(), forwarded=_address())
    assert locked.status_code == 429
    assert "locked from every address" in locked.json()["detail"]
    assert 1 <= int(locked["Retry-After"]) <= 4

    ok = wait_until(lambda: _token(client, username, PASSWORD, ip=_address()).status_code == 200, timeout=15)
    assert ok
    # A successful login clears the count: one more mistake does not lock again.
    assert _token(client, username, "wrong", ip=_address()).status_code == 400
    assert _token(client, username, PASSWORD, ip=_address()).status_code == 200


def test_the_web_login_shows_a_readable_lockout_page(client, username, tight_lockout):
    SalesRepFactory(username=username)
    for _ in range(2):
        assert client.post("/accounts/login/", {"username": username, "password": "wrong"}).status_code == 200

    response = client.post(
        "/accounts/login/", {"username": username, "password": PASSWORD}, REMOTE_ADDR=_address()
    )
    assert response.status_code == 429
    assert (
        "Too many failed log-in attempts for this username. Try again in 1 minute."
        in response.content.decode()
    )
    assert "_auth_user_id" not in client.session
    # The API token endpoint shares the count.
    assert _token(APIClient(), username, PASSWORD, ip=_address()).status_code == 429
    # So does the admin login.
    admin = client.post("/admin/login/", {"username": username, "password": PASSWORD})
    assert "Too many failed log-in attempts" in admin.content.decode()

    wait_until(
        lambda: (
            client.post("/accounts/login/", {"username": username, "password": PASSWORD}).status_code == 302
        ),
        timeout=15,
    )
    assert client.session["_auth_user_id"]
