"""Who may do what over the API: token and session auth, roles, the sales view, throttling."""

import pytest
from django.core.cache import cache
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from config.api_router import router
from crm_core.roles import MARKETING, SALES
from crm_core.tests.factories import (
    AccountFactory,
    ContactFactory,
    InteractionFactory,
    LeadFactory,
    OpportunityFactory,
    SalesRepFactory,
    SubscriptionListFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

RESOURCES = ["accounts", "contacts", "leads", "opportunities", "interactions", "subscription-lists"]
PASSWORD = "correct horse battery"  # the factories' password


# --- authentication ------------------------------------------------------------------------------


def test_anonymous_gets_401_everywhere(anon_client):
    for resource in RESOURCES:
        assert anon_client.get(f"/api/{resource}/").status_code == 401
        assert anon_client.post(f"/api/{resource}/", {}, format="json").status_code == 401
        assert anon_client.get(f"/api/{resource}/1/").status_code == 401
        assert anon_client.delete(f"/api/{resource}/1/").status_code == 401


def test_a_token_from_the_token_endpoint_authenticates():
    SalesRepFactory(username="rep")
    ContactFactory()
    client = APIClient()
    response = client.post("/api/auth/token/", {"username": "rep", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    assert Token.objects.get(user__username="rep").key == token
    # The same token again on the next login.
    again = client.post("/api/auth/token/", {"username": "rep", "password": PASSWORD}, format="json")
    assert again.json()["token"] == token

    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/contacts/").status_code == 200
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/contacts/").status_code == 401


def test_the_token_endpoint_refuses_bad_credentials():
    SalesRepFactory(username="rep")
    client = APIClient()
    wrong = client.post("/api/auth/token/", {"username": "rep", "password": "nope"}, format="json")
    assert wrong.status_code == 400 and "non_field_errors" in wrong.json()
    missing = client.post("/api/auth/token/", {"username": "rep"}, format="json")
    assert missing.status_code == 400 and "password" in missing.json()
    form = client.post("/api/auth/token/", {"username": "rep", "password": PASSWORD})  # multipart works too
    assert form.status_code == 200
    assert client.get("/api/auth/token/").status_code == 405


def test_a_browser_session_authenticates():
    SalesRepFactory(username="rep")
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="rep", password=PASSWORD)
    assert client.get("/api/contacts/").status_code == 200
    # Unsafe methods over a session need the CSRF token, as everywhere in Django.
    assert client.post("/api/contacts/", {"last_name": "X"}, format="json").status_code == 403


# --- roles ----------------------------------------------------------------------------------------


def _records():
    return {
        "accounts": AccountFactory(),
        "contacts": ContactFactory(),
        "leads": LeadFactory(),
        "opportunities": OpportunityFactory(),
        "interactions": InteractionFactory(),
        "subscription-lists": SubscriptionListFactory(),
    }


CREATE = {
    "accounts": lambda: {"name": "New Co"},
    "contacts": lambda: {"last_name": "New"},
    "leads": lambda: {"topic": "New topic"},
    "opportunities": lambda: {"name": "New deal"},
    "interactions": lambda: {
        "contact": ContactFactory().pk,
        "kind": "download",
        "occurred_at": "2025-01-01T00:00:00Z",
    },
    "subscription-lists": lambda: {"name": "New list"},
}

# (role, resource) -> expected status of list, create, update, delete
MATRIX = {
    SALES: {
        "accounts": (200, 201, 200, 403),
        "contacts": (200, 201, 200, 403),
        "leads": (200, 201, 200, 403),
        "opportunities": (200, 201, 200, 403),
        "interactions": (200, 403, 403, 403),
        "subscription-lists": (200, 403, 403, 403),
    },
    MARKETING: {
        "accounts": (200, 201, 200, 403),
        "contacts": (200, 201, 200, 403),
        "leads": (200, 201, 200, 403),
        "opportunities": (200, 403, 403, 403),
        "interactions": (200, 201, 200, 403),
        "subscription-lists": (200, 201, 200, 204),
    },
    "admin": dict.fromkeys(RESOURCES, (200, 201, 200, 204)),
    "none": dict.fromkeys(RESOURCES, (403, 403, 403, 403)),
}


@pytest.mark.parametrize("role", list(MATRIX))
def test_role_permissions_per_resource(role, admin_user):
    user = admin_user if role == "admin" else UserFactory(role=None if role == "none" else role)
    client = APIClient()
    client.force_authenticate(user)
    records = _records()
    for resource, (list_status, create_status, update_status, delete_status) in MATRIX[role].items():
        pk = records[resource].pk
        assert client.get(f"/api/{resource}/").status_code == list_status, (resource, "list")
        created = client.post(f"/api/{resource}/", CREATE[resource](), format="json")
        assert created.status_code == create_status, (resource, "create", created.content)
        assert client.patch(f"/api/{resource}/{pk}/", {}, format="json").status_code == update_status, (
            resource,
            "update",
        )
        assert client.delete(f"/api/{resource}/{pk}/").status_code == delete_status, (resource, "delete")


def test_every_registered_model_viewset_checks_roles():
    """Every viewset on the router (this app's and the marketing apps') uses RoleModelPermissions,
    so a sales rep can never create a segment, scoring model, journey or landing page."""
    from crm_core.api.permissions import RoleModelPermissions

    registered = {prefix: viewset for prefix, viewset, _ in router.registry}
    assert set(RESOURCES) <= set(registered)
    for prefix, viewset in registered.items():
        assert any(issubclass(p, RoleModelPermissions) for p in viewset.permission_classes), prefix


def test_sales_reps_cannot_write_marketing_definitions(sales_rep):
    for app in ("segments", "leadscoring", "journeys", "landing"):
        from django.apps import apps

        for model in apps.get_app_config(app).get_models():
            label = f"{app}.add_{model._meta.model_name}"
            assert not sales_rep.has_perm(label), label


# --- the sales view of contacts ------------------------------------------------------------------


def test_sales_reps_see_the_sales_view_by_default(sales_client, marketer_client):
    visible = ContactFactory()
    hidden = ContactFactory(marketing_only=True)

    def listed(client, query=""):
        return {row["id"] for row in client.get(f"/api/contacts/{query}").json()["results"]}

    assert listed(sales_client) == {visible.pk}
    assert listed(sales_client, "?view=sales") == {visible.pk}
    assert listed(marketer_client) == {visible.pk, hidden.pk}
    assert listed(marketer_client, "?view=sales") == {visible.pk}
    assert listed(sales_client, "?view=marketing") == {visible.pk, hidden.pk}
    assert sales_client.get("/api/contacts/?view=both").status_code == 400
    # A single contact is found by id whatever the default view (e.g. from a lead's parent_contact).
    assert sales_client.get(f"/api/contacts/{hidden.pk}/").status_code == 200
    assert sales_client.get(f"/api/contacts/{hidden.pk}/?view=sales").status_code == 404


# --- throttling -----------------------------------------------------------------------------------


@pytest.fixture
def fresh_throttles():
    cache.delete_many(["throttle_anon_127.0.0.1"])
    yield
    cache.delete_many(["throttle_anon_127.0.0.1"])


def test_throttle_rates_come_from_settings():
    assert api_settings.DEFAULT_THROTTLE_RATES["anon"]
    assert api_settings.DEFAULT_THROTTLE_RATES["user"]
    assert all("crm_core.api.throttling" in c.__module__ for c in api_settings.DEFAULT_THROTTLE_CLASSES)


def test_authenticated_clients_are_throttled(fresh_throttles):
    user = SalesRepFactory(username="busy-rep")
    client = APIClient()
    client.force_authenticate(user)
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "user": "3/minute"}
    try:
        with override_settings(REST_FRAMEWORK={**_rest_framework(), "DEFAULT_THROTTLE_RATES": rates}):
            statuses = [client.get("/api/contacts/").status_code for _ in range(4)]
            assert statuses == [200, 200, 200, 429]
            assert "Retry-After" in client.get("/api/contacts/").headers
    finally:
        cache.delete(f"throttle_user_{user.pk}")


def test_anonymous_clients_are_throttled_on_the_token_endpoint(fresh_throttles):
    client = APIClient()
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "anon": "2/minute"}
    with override_settings(REST_FRAMEWORK={**_rest_framework(), "DEFAULT_THROTTLE_RATES": rates}):
        statuses = [
            client.post("/api/auth/token/", {"username": "x", "password": "y"}, format="json").status_code
            for _ in range(3)
        ]
    assert statuses == [400, 400, 429]


def _rest_framework():
    from django.conf import settings

    return settings.REST_FRAMEWORK
