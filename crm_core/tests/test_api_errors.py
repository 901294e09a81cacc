"""Bad input never gives a 500: malformed bodies, wrong types, unknown ids, oversized payloads."""

import json

import pytest
from django.db.models import ProtectedError
from django.test import override_settings

from crm_core.models import Contact, Lead
from crm_core.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def post_raw(client, path, body, content_type="application/json"):
    return client.generic("POST", path, body, content_type=content_type)


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"last_name": "x",}',
        b"\xff\xfe\x00garbage",
        b'{"last_name": NaN}',
        b"[" * 50_000 + b"]" * 50_000,
        b'"just a string"',
        b"[1, 2, 3]",
        b"null",
    ],
)
def test_malformed_or_non_object_json_is_400(marketer_client, body):
    response = post_raw(marketer_client, "/api/contacts/", body)
    assert response.status_code == 400, response.content
    assert response.json()  # a message, in JSON
    assert Contact.objects.count() == 0


def test_wrong_types_are_400_per_field(marketer_client):
    response = marketer_client.post(
        "/api/leads/",
        {
            "topic": ["a list"],
            "score": {"an": "object"},
            "sales_ready": "sometimes",
            "estimated_value": "lots",
        },
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"topic", "score", "sales_ready", "estimated_value"}


def test_out_of_range_numbers_and_strings_with_nul_are_400(marketer_client):
    response = marketer_client.post(
        "/api/leads/",
        {"topic": "ok\x00", "score": 2**63, "estimated_value": "1" * 40},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"topic", "score", "estimated_value"}


@pytest.mark.parametrize("pk", ["999999", "abc", "99999999999999999999999", "-1", "1.5"])
def test_unknown_ids_are_404(marketer_client, pk):
    for method in ("get", "patch", "put", "delete"):
        response = getattr(marketer_client, method)(f"/api/contacts/{pk}/", {}, format="json")
        assert response.status_code in (403, 404), (method, response.status_code)
        if method != "delete":  # marketers may not delete at all: 403 before the lookup
            assert response.status_code == 404
            assert "detail" in response.json()


def test_unknown_foreign_keys_are_400_and_nothing_is_saved(marketer_client):
    response = marketer_client.post(
        "/api/leads/", {"topic": "x", "parent_contact": 123456, "parent_account": "abc"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"parent_contact", "parent_account"}
    assert Lead.objects.count() == 0


def test_unsupported_media_type_is_415(marketer_client):
    response = post_raw(marketer_client, "/api/contacts/", b"<contact/>", content_type="application/xml")
    assert response.status_code == 415


@override_settings(MAX_REQUEST_BODY_BYTES=1000, DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_an_oversized_body_is_413_with_the_limit(marketer_client, content_type):
    if content_type == "application/json":
        body = json.dumps({"last_name": "x" * 2000}).encode()
    else:
        body = b"last_name=" + b"x" * 2000
    response = post_raw(marketer_client, "/api/contacts/", body, content_type=content_type)
    assert response.status_code == 413
    assert response.json() == {
        "detail": "Request body too large: the limit is 1000 bytes (MAX_REQUEST_BODY_BYTES)."
    }
    assert Contact.objects.count() == 0
    # A body under the limit is fine.
    under = {"first_name": "x" * 100, "last_name": "x" * 100, "job_title": "x" * 150, "city": "x" * 100}
    fine = post_raw(marketer_client, "/api/contacts/", json.dumps(under).encode())
    assert fine.status_code == 201


@override_settings(MAX_REQUEST_BODY_BYTES=1000, DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_an_oversized_multipart_body_is_413(marketer_client):
    response = marketer_client.post("/api/contacts/", {"last_name": "x" * 5000})  # multipart
    assert response.status_code == 413
    assert "1000 bytes" in response.json()["detail"]


@override_settings(MAX_REQUEST_BODY_BYTES=1000, DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_django_request_data_too_big_becomes_a_413_json_answer(admin_client_api):
    """A body read through Django's own limit (request.body) answers 413 too, not a 500."""
    from django.core.exceptions import RequestDataTooBig

    from crm_core.api.exceptions import exception_handler

    response = exception_handler(RequestDataTooBig("too big"), {})
    assert response.status_code == 413 and "1000 bytes" in response.data["detail"]


def test_the_default_limit_is_documented_in_settings_and_schema(admin_client_api):
    from django.conf import settings

    assert settings.MAX_REQUEST_BODY_BYTES == settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    description = admin_client_api.get("/api/schema/?format=json").json()["info"]["description"]
    assert f"{settings.MAX_REQUEST_BODY_BYTES} bytes" in description


def test_a_protected_delete_becomes_a_409_answer():
    """Apps that add PROTECT references to CRM records get a 409, not a 500, when a delete is refused."""
    from crm_core.api.exceptions import exception_handler

    lead = LeadFactory()
    response = exception_handler(ProtectedError("protected", {lead}), {})
    assert response.status_code == 409 and response.data == {
        "detail": "Cannot delete: still referenced by leads."
    }
