"""The OpenAPI schema: generated without warnings, and the API keeps to it under generated input.

The property-based test (schemathesis) reads /api/schema/, generates requests for
every operation (valid ones and boundary/invalid ones) and checks that none gets
a 500 and that every answer matches the schema. It runs in-process over WSGI
inside the test's transaction, with a bounded number of examples.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from crm_core.tests.factories import AccountFactory, AdminUserFactory, ContactFactory, LeadFactory

ROOT = Path(__file__).resolve().parent.parent
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "15"))


def test_spectacular_validates_without_warnings(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--file",
            tmp_path / "s.yml",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr and "Error" not in result.stderr, result.stderr
    assert "/api/contacts/" in (tmp_path / "s.yml").read_text()


def test_schema_and_docs_need_a_login(anon_client, sales_client):
    assert anon_client.get("/api/schema/").status_code == 401
    assert anon_client.get("/api/docs/").status_code == 401
    assert sales_client.get("/api/schema/?format=json").json()["openapi"].startswith("3.")
    docs = sales_client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()


@pytest.fixture
def api_token(db):
    user = AdminUserFactory(username="schemathesis")
    # Some records, so detail operations sometimes find one.
    AccountFactory.create_batch(2)
    LeadFactory.create_batch(2)
    ContactFactory(marketing_only=True)
    return Token.objects.create(user=user).key


def _load_schema():
    """The schema /api/schema/ serves (test_served_schema_is_the_generated_one checks they agree)."""
    from drf_spectacular.generators import SchemaGenerator

    generated = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(generated)
    loaded.app = get_wsgi_application()
    return loaded


schema = _load_schema()
# The coverage phase (every boundary and invalid value of every parameter) sends ~6,000 requests;
# it runs when SCHEMATHESIS_COVERAGE=1. The suite runs the bounded random phase only.
schema.config.phases.coverage.enabled = os.environ.get("SCHEMATHESIS_COVERAGE") == "1"


@pytest.fixture
def in_process_requests():
    # Like Django's test client: keep the test's transaction open across in-process requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_served_schema_is_the_generated_one(sales_client):
    served = sales_client.get("/api/schema/?format=json").json()
    assert served == schema.raw_schema


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_answers_500_and_keeps_to_its_schema(case, api_token, in_process_requests):
    response = case.call(headers={"Authorization": f"Token {api_token}"})
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            response_schema_conformance,
            status_code_conformance,  # every 4xx the API answers is in the schema
            content_type_conformance,
            response_headers_conformance,
        ],
    )
