"""Text PostgreSQL refuses (NUL, lone surrogates) inside JSON definitions is a 400 with its path."""

import copy
import json

import pytest

from journeys.tests.factories import send_email_step
from journeys.tests.test_api import PAYLOAD as JOURNEY
from leadscoring.tests.test_api import valid_model
from segments.examples import CONTOSO_DECISION_MAKERS as CONTOSO
from segments.models import Segment

pytestmark = pytest.mark.django_db

NUL = "Contoso\x00Ltd"


def _post(client, url, body, method="post"):
    # Sent as raw JSON: "\u0000" is what a client would put on the wire.
    return getattr(client, method)(url, json.dumps(body), content_type="application/json")


def _with_nul_value(definition):
    bad = copy.deepcopy(definition)
    bad["conditions"][1]["conditions"][0]["value"] = NUL
    return bad


def _problems(response) -> str:
    assert response.status_code == 400, response.content
    return json.dumps(response.json())


def test_segment_create_update_and_preview(marketer_client):
    bad = _with_nul_value(CONTOSO)
    text = _problems(_post(marketer_client, "/api/segments/", {"name": "x", "definition": bad}))
    assert "$.conditions[1].conditions[0].value" in text and "NUL" in text
    assert not Segment.objects.exists()
    text = _problems(_post(marketer_client, "/api/segments/preview/", {"definition": bad}))
    assert "$.conditions[1].conditions[0].value" in text
    created = _post(marketer_client, "/api/segments/", {"name": "ok", "definition": CONTOSO})
    assert created.status_code == 201
    url = f"/api/segments/{created.json()['id']}/"
    surrogate = copy.deepcopy(CONTOSO)
    surrogate["conditions"][0]["value"] = "\ud800"
    text = _problems(_post(marketer_client, url, {"name": "ok", "definition": surrogate}, "put"))
    assert "$.conditions[0].value" in text and "surrogate" in text


def test_scoring_rule_condition(marketer_client):
    body = valid_model()
    body["rules"][3]["condition"]["conditions"][0]["conditions"][0]["value"] = NUL
    text = _problems(_post(marketer_client, "/api/scoring-models/", body))
    assert "$.conditions[0].conditions[0].value" in text


def test_journey_exit_condition_and_email_html(marketer_client):
    exit_condition = {"field": "job_title", "op": "eq", "value": NUL}
    text = _problems(_post(marketer_client, "/api/journeys/", {**JOURNEY, "exit_condition": exit_condition}))
    assert "$.value" in text and "NUL" in text
    step = send_email_step()
    step["config"]["html"] = "<p>Hi\x00</p>"
    text = _problems(_post(marketer_client, "/api/journeys/", {**JOURNEY, "steps": [step]}))
    assert "[0].config.html" in text
    text = _problems(
        _post(marketer_client, "/api/journeys/", {**JOURNEY, "entry_type": "trigger",
              "trigger_kind": "form_submit", "trigger_config": {"page\x00": 1}})
    )  # fmt: skip
    assert "trigger_config" in text
