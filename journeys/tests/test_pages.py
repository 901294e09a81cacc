"""The journey designer's pages: a journey built from typed forms (no JSON), problems shown next to
their field and on the card with what was typed kept, sales reading only, idempotent create."""

import json
import re

import pytest
from django.db import connection
from django.test import Client

from conftest import rerun_on_sqlite
from segments.models import Segment

from .. import services
from ..email_views import STARTER_MJML
from ..models import Journey
from .factories import make_journey, send_email_step

pytestmark = pytest.mark.django_db

CONDITION = {"match": "all", "conditions": [{"field": "job_role", "op": "eq", "value": "decision_maker"}]}


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _create(client, token="tok-1", **extra):
    Segment.objects.get_or_create(pk=4, defaults={"name": "Contoso decision makers"})
    body = {
        "create_token": token,
        "name": "Spring",
        "entry_type": "segment",
        "entry_segment_id": "4",
        "min_consent_level": "3",
        "exit_on_sales_ready": "on",
        **extra,
    }
    return client.post("/journeys/", body)


def _shape(journey):
    return [
        (s.kind, s.next_step and s.next_step.kind, s.else_step and s.else_step.kind)
        for s in journey.steps.order_by("position")
    ]


def test_marketer_builds_a_branching_journey_from_typed_forms(marketer):
    client = _client(marketer)
    template = services.email_template_create(
        name="Welcome", kind="marketing", subject="Welcome {{ contact.first_name }}", mjml=STARTER_MJML
    )
    assert _create(client).status_code == 302
    journey = Journey.objects.get(name="Spring")
    save = f"/journeys/{journey.pk}/steps/"
    email = {"kind": "send_email", "place": "start", "email_source": "template", "template": str(template.pk)}
    assert client.post(save, email).status_code == 302
    wait = {"kind": "wait_duration", "place": "send-email-1:next", "wait_amount": "3", "wait_unit": "days"}
    assert client.post(save, wait).status_code == 302
    branch = {"kind": "if_condition", "place": "wait-duration-1:next", "condition": json.dumps(CONDITION)}
    assert client.post(save, branch).status_code == 302
    task = {"kind": "create_task", "place": "if-condition-1:next", "title": "Call them", "due_in_days": "2"}
    assert client.post(save, task).status_code == 302
    assert client.post(save, {"kind": "end", "place": "if-condition-1:else"}).status_code == 302
    shape = _shape(journey)
    assert shape[0] == ("send_email", "wait_duration", None)  # the entry
    assert sorted(shape[1:]) == [
        ("create_task", None, None),
        ("end", None, None),
        ("if_condition", "create_task", "end"),
        ("wait_duration", "if_condition", None),
    ]
    email_step = journey.steps.get(key="send-email-1")
    assert email_step.config["template_id"] == template.pk and "unsubscribe_url" in email_step.config["html"]
    assert journey.steps.get(key="wait-duration-1").config == {"seconds": 3 * 86400}
    page = client.get(f"/journeys/{journey.pk}/").content.decode()
    for words in ("Send ‘Welcome’ (template)", "Wait 3 days", "If job role is “Decision maker”", "Call them"):
        assert words in page
    assert "<textarea" not in page and "JSON" not in page
    assert "members of Contoso decision makers" in client.get("/journeys/").content.decode()

    # The step's panel shows its typed values; saving another wait keeps the rest of the journey
    panel = client.get(f"/journeys/{journey.pk}/?step=wait-duration-1").content.decode()
    assert 'name="wait_amount" min="1" step="1" value="3"' in panel
    edit = {"key": "wait-duration-1", "wait_amount": "6", "wait_unit": "hours", "next": "if-condition-1"}
    assert client.post(save, edit).status_code == 302
    assert client.get(f"/journeys/{journey.pk}/?step=wait-duration-1").content.decode().count("Saved.") == 1
    assert journey.steps.get(key="wait-duration-1").config == {"seconds": 6 * 3600}
    assert len(_shape(journey)) == 5


def test_a_problem_shows_at_its_field_and_on_the_card_and_keeps_what_was_typed(marketer):
    client = _client(marketer)
    _create(client)
    journey = Journey.objects.get(name="Spring")
    save = f"/journeys/{journey.pk}/steps/"
    bad_new = {"kind": "create_task", "place": "start", "title": "Call Ada", "due_in_days": "soon"}
    response = client.post(save, bad_new)
    page = response.content.decode()
    assert response.status_code == 400 and not journey.steps.exists()
    assert "enter the days until due as a whole number" in page
    assert 'value="Call Ada"' in page and 'value="soon"' in page  # nothing typed is lost
    assert "steps[" not in page and "config." not in page

    client.post(save, {"kind": "create_lead", "place": "start", "topic": "Contoso"})
    response = client.post(save, {"key": "create-lead-1", "topic": "  ", "next": ""})
    page = response.content.decode()
    assert response.status_code == 400
    card = re.search(
        r'<article class="step-card[^"]*has-error[^"]*" id="step-create-lead-1".*?</article>', page, re.S
    )
    assert card and "a topic of up to 200 characters is required" in card.group(0)
    assert journey.steps.get().config == {"topic": "Contoso"}  # nothing half-saved

    condition = {"match": "all", "conditions": [{"field": "job_role", "op": "eq", "value": "astronaut"}]}
    response = client.post(
        save, {"kind": "if_condition", "place": "start", "condition": json.dumps(condition)}
    )
    page = response.content.decode()
    assert response.status_code == 400 and "fix the condition rows marked below" in page
    problems = json.loads(re.search(r'id="condition-problems"[^>]*>(.*?)</script>', page, re.S).group(1))
    assert problems and problems[0]["path"].startswith("conditions[0]")


def test_removing_a_step_leads_its_callers_on_to_its_next_step(marketer):
    client = _client(marketer)
    _create(client)
    journey = Journey.objects.get(name="Spring")
    save = f"/journeys/{journey.pk}/steps/"
    client.post(save, {"kind": "create_lead", "place": "start", "topic": "Contoso"})
    client.post(save, {"kind": "split", "place": "create-lead-1:next", "percent": "30"})
    client.post(
        save, {"kind": "wait_duration", "place": "split-1:else", "wait_amount": "2", "wait_unit": "hours"}
    )
    client.post(save, {"kind": "end", "place": "wait-duration-1:next"})
    assert "Split 30% (A) / 70% (B)" in client.get(f"/journeys/{journey.pk}/").content.decode()
    response = client.post(f"/journeys/{journey.pk}/steps/delete/", {"key": "wait-duration-1"})
    assert response.status_code == 302
    split = journey.steps.get(key="split-1")
    assert split.next_step is None and split.else_step.key == "end-1"
    assert [s.key for s in journey.steps.order_by("position")] == ["create-lead-1", "split-1", "end-1"]


def test_settings_use_typed_trigger_fields(marketer):
    from landing.tests.factories import LandingPageFactory

    client = _client(marketer)
    page = LandingPageFactory()
    response = _create(client, entry_type="trigger", trigger_kind="form_submit", trigger_page="")
    assert response.status_code == 400 and "choose a landing page" in response.content.decode()
    assert 'value="Spring"' in response.content.decode()
    assert (
        _create(
            client, entry_type="trigger", trigger_kind="form_submit", trigger_page=str(page.pk)
        ).status_code
        == 302
    )
    journey = Journey.objects.get(name="Spring")
    assert journey.trigger_config == {"page": page.pk}
    body = {
        "action": "settings",
        "name": "Spring",
        "entry_type": "trigger",
        "trigger_kind": "field_changed",
        "trigger_field": "job_role",
        "trigger_value": "decision_maker",
        "min_consent_level": "3",
    }
    assert client.post(f"/journeys/{journey.pk}/", body).status_code == 302
    journey.refresh_from_db()
    assert journey.trigger_config == {"field": "job_role", "value": "decision_maker"}


def test_a_double_submit_of_the_create_form_makes_one_journey(marketer):
    client = _client(marketer)
    first, second = _create(client, token="same"), _create(client, token="same")
    assert first.status_code == second.status_code == 302 and first["Location"] == second["Location"]
    assert Journey.objects.filter(name="Spring").count() == 1
    assert _create(client, token="other").status_code == 302
    assert Journey.objects.filter(name="Spring").count() == 2
    tokens = re.findall(r'name="create_token" value="(\w+)"', client.get("/journeys/").content.decode())
    assert len(tokens) == 1 and tokens[0] != client.get("/journeys/").content.decode()  # fresh per form


def test_the_api_create_honours_an_idempotency_key(marketer_client):
    body = {"name": "API journey", "entry_type": "segment", "entry_segment_id": 1, "steps": []}
    first = marketer_client.post("/api/journeys/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = marketer_client.post("/api/journeys/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert Journey.objects.filter(name="API journey").count() == 1
    assert marketer_client.post("/api/journeys/", body, format="json").status_code == 201
    assert Journey.objects.filter(name="API journey").count() == 2


def test_sales_reads_but_cannot_change(sales_rep, marketer):
    journey = make_journey(steps=[send_email_step()])
    client = _client(sales_rep)
    assert client.get("/journeys/").status_code == 200
    page = client.get(f"/journeys/{journey.pk}/")
    assert page.status_code == 200 and b"Go live" not in page.content and b"Add a step" not in page.content
    assert client.post(f"/journeys/{journey.pk}/", {"action": "pause"}).status_code == 403
    assert client.post(f"/journeys/{journey.pk}/steps/", {"kind": "end", "place": "start"}).status_code == 403
    assert client.get(f"/journeys/{journey.pk}/go-live/").status_code == 403
    assert client.post("/journeys/", {"name": "x"}).status_code == 403
    assert Client().get("/journeys/").status_code == 302  # to the login page


def test_a_live_journey_shows_each_step_read_only(sales_rep, marketer):
    journey = make_journey(steps=[send_email_step()])
    services.journey_go_live(journey=journey)
    key = journey.steps.get().key
    for user in (marketer, sales_rep):
        client = _client(user)
        flow = client.get(f"/journeys/{journey.pk}/").content.decode()
        assert 'data-testid="view-step"' in flow and 'data-testid="edit-step"' not in flow
        panel = client.get(f"/journeys/{journey.pk}/", {"step": key}).content.decode()
        assert 'data-testid="side-panel"' in panel and "cannot be changed" in panel
        assert '<fieldset class="step-fields" disabled data-testid="readonly-fields">' in panel
        assert 'value="Welcome {{ contact.first_name }}"' in panel  # the step as it runs
        assert 'data-testid="save-step"' not in panel and 'data-testid="remove-step"' not in panel
        adding = client.get(f"/journeys/{journey.pk}/", {"add": "wait", "place": "start"}).content.decode()
        assert 'data-testid="step-form"' not in adding  # nothing can be added once live


def test_the_designer_picks_entry_and_suppression_segments_by_name(marketer):
    entry = Segment.objects.create(name="Contoso decision makers", member_count=1234)
    suppressed = Segment.objects.create(name="Competitors", kind="static")
    journey = make_journey(
        steps=[send_email_step()], entry_segment_id=entry.pk, suppression_segment_id=suppressed.pk
    )
    page = _client(marketer).get(f"/journeys/{journey.pk}/").content.decode()
    label = "Contoso decision makers (dynamic, draft, 1,234 members)"
    assert f'<option value="{entry.pk}" selected>{label}' in page
    assert f'<option value="{suppressed.pk}" selected>Competitors (static, draft, 0 members)' in page


def test_the_same_pages_on_sqlite(tmp_path):
    """The module again on the embedded default's database (SQLite)."""
    run = rerun_on_sqlite(tmp_path, __file__, leave_out="test_the_same_pages_on_sqlite")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert connection.vendor == "postgresql" and "9 passed" in run.stdout, run.stdout[-2000:]
