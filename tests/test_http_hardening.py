"""Deploy settings, the content security policy, strict query parameters and clean names."""

import os
import re

import pytest
from django.test import Client

from conftest import ROOT, manage
from crm_core.models import Contact
from crm_core.tests.factories import AccountFactory, ContactFactory

HTTP_ONLY = ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "DEBUG")


def test_check_deploy_passes_with_debug_off():
    env = {k: v for k, v in os.environ.items() if k not in HTTP_ONLY}
    env.update(SECRET_KEY="x" * 20 + "deploy-check-" + "k9Q2" * 10, ALLOWED_HOSTS="crm.example.com")
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert ROOT.exists()


@pytest.mark.django_db
def test_pages_send_a_csp_their_own_markup_satisfies(admin_client):
    ContactFactory()
    for url in ("/accounts/login/", "/", "/contacts/"):
        response = (
            Client().get(url, follow=True) if url.endswith("login/") else admin_client.get(url, follow=True)
        )
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy
        html = response.content.decode()
        assert not re.search(r"<script(?![^>]*\b(src=|type=\"application/json\"))[^>]*>", html), (
            url
        )  # no inline script (JSON data blocks do not run)
        assert not re.search(r"\sstyle=\"|<style|\son[a-z]+=\"", html), url  # no inline style or handler


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    ["page_size=false", "page_size=0", "page_size=-1", "page_size=1.5", "parent_account__isnull=null",
     "parent_account__isnull=banana"],
)  # fmt: skip
def test_query_parameters_of_the_wrong_type_are_a_400(admin_client_api, query):
    response = admin_client_api.get(f"/api/contacts/?{query}")
    assert response.status_code == 400, response.content
    assert query.split("=")[0] in response.json()


@pytest.mark.django_db
def test_isnull_filters_still_work(admin_client_api):
    ContactFactory(parent_account=AccountFactory())
    ContactFactory(parent_account=None)
    assert (
        admin_client_api.get("/api/contacts/?parent_account__isnull=true").json()["results"][0][
            "parent_account"
        ]
        is None
    )


@pytest.mark.django_db
def test_bidi_controls_are_stripped_from_names(admin_client_api):
    body = {"first_name": "Ev\u202eil", "last_name": "\u2066Doe\u2069", "email": "bidi@example.com"}
    response = admin_client_api.post("/api/contacts/", body, format="json")
    assert response.status_code == 201, response.content
    contact = Contact.objects.get(email="bidi@example.com")
    assert (contact.first_name, contact.last_name) == ("Evil", "Doe")
    assert response.json()["first_name"] == "Evil"


def test_every_operation_documents_the_4xx_answers():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            codes = set(operation["responses"])
            assert {"400", "401", "403", "404", "429"} <= codes, (method, path)
            if "requestBody" in operation:
                assert {"413", "415"} <= codes, (method, path)


@pytest.mark.django_db
def test_an_api_path_no_route_matches_is_a_json_404(admin_client_api, client):
    response = admin_client_api.get("/api/accounts/1.5/")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}
    assert "text/html" in client.get("/no-such-page/").headers["Content-Type"]


@pytest.mark.django_db
def test_a_form_field_null_for_a_json_setting_is_a_400(admin_client_api):
    from journeys.tests.test_api import PAYLOAD

    journey = admin_client_api.post("/api/journeys/", PAYLOAD, format="json").json()
    response = admin_client_api.patch(
        f"/api/journeys/{journey['id']}/", {"trigger_config": "null"}, format="multipart"
    )
    assert response.status_code == 400 and "trigger_config" in response.json()


@pytest.mark.django_db
def test_a_grade_band_without_its_minimum_is_a_400_on_patch(admin_client_api):
    from leadscoring.tests.factories import ScoringModelFactory

    model = ScoringModelFactory(status="draft")
    body = {"grade_bands": [{"grade": "A", "max_score": 0}]}
    response = admin_client_api.patch(f"/api/scoring-models/{model.pk}/", body, format="json")
    assert response.status_code == 400 and "grade_bands" in response.json()
