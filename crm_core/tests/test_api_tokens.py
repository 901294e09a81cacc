"""API tokens expire after API_TOKEN_TTL_SECONDS and can be rotated."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def _login(user) -> dict:
    response = APIClient().post(
        "/api/auth/token/", {"username": user.username, "password": "pw"}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def _get(key: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/contacts/").status_code


@pytest.fixture
def rep(sales_rep):
    sales_rep.set_password("pw")
    sales_rep.save()
    return sales_rep


def test_an_expired_token_is_a_401_and_logging_in_again_issues_a_new_one(rep, settings):
    settings.API_TOKEN_TTL_SECONDS = 3600
    first = _login(rep)
    assert _get(first["token"]) == 200 and first["expires_at"]
    Token.objects.filter(key=first["token"]).update(created=timezone.now() - timedelta(seconds=3601))
    assert _get(first["token"]) == 401
    second = _login(rep)
    assert second["token"] != first["token"] and _get(second["token"]) == 200


def test_rotation_ends_the_old_token(rep):
    old = _login(rep)["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    new = client.post("/api/auth/token/rotate/").json()["token"]
    assert new != old and _get(old) == 401 and _get(new) == 200
