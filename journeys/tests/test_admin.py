"""The journeys admin shows journeys in words, read-only, and links to the designer: it cannot make a
journey or change its steps around the services' validation (`validate_steps`). The engine's rows
(enrollments, step executions, outbound emails) are shown and searched there, never written."""

import pytest
from django.urls import reverse

from journeys.models import Enrollment, Journey, OutboundEmail, Step, StepExecution
from journeys.tests.factories import make_journey, send_email_step

pytestmark = pytest.mark.django_db

CONDITION = {"entity": "contact", "match": "all", "conditions": [{"field": "job_role", "op": "is_not_empty"}]}


@pytest.fixture
def journey(admin_user):
    return make_journey(
        steps=[send_email_step(), {"key": "pause", "kind": "wait_duration", "config": {"days": 3}}],
        created_by=admin_user,
        entry_type="trigger",
        trigger_kind="lead_created",
        trigger_config={"topic": "Webinar"},
        exit_condition=CONDITION,
    )


def test_the_change_page_shows_the_journey_in_words_with_a_designer_link(client, admin_user, journey):
    client.force_login(admin_user)
    html = client.get(reverse("admin:journeys_journey_change", args=[journey.pk])).content.decode()
    assert reverse("journeys:detail", args=[journey.pk]) in html and "Edit in the designer" in html
    assert "A lead created with topic ‘Webinar’" in html
    assert "Leave when" in html and "job role" in html
    assert "Send ‘Welcome" in html and "Wait 3 days" in html  # the steps' summaries
    assert "<textarea" not in html and '"topic"' not in html  # no JSON, typed or shown
    assert 'name="steps-0-config"' not in html and 'name="steps-0-kind"' not in html
    assert 'name="steps-MAX_NUM_FORMS" value="0"' in html  # no step added here


def test_the_admin_cannot_add_a_journey(client, admin_user):
    client.force_login(admin_user)
    data = {"name": "Sneaky", "status": "live", "entry_type": "segment", "trigger_config": "{}",
            "steps-TOTAL_FORMS": "1", "steps-INITIAL_FORMS": "0", "steps-0-key": "x",
            "steps-0-kind": "send_email", "steps-0-config": "{}", "steps-0-position": "0"}  # fmt: skip
    assert client.post(reverse("admin:journeys_journey_add"), data).status_code == 403
    assert not Journey.objects.filter(name="Sneaky").exists()


def test_the_admin_cannot_change_steps_around_validation(client, admin_user, journey):
    client.force_login(admin_user)
    first = journey.steps.order_by("position").first()
    data = {"name": journey.name, "status": "live", "steps-TOTAL_FORMS": "2", "steps-INITIAL_FORMS": "1",
            "steps-0-id": first.pk, "steps-0-journey": journey.pk, "steps-0-key": first.key,
            "steps-0-kind": "send_email", "steps-0-config": '{"subject": ""}', "steps-0-position": "0",
            "steps-1-journey": journey.pk, "steps-1-key": "bad", "steps-1-kind": "split",
            "steps-1-config": '{"percent": 900}', "steps-1-position": "1"}  # fmt: skip
    response = client.post(reverse("admin:journeys_journey_change", args=[journey.pk]), data)
    assert response.status_code == 403
    first.refresh_from_db()
    journey.refresh_from_db()
    assert first.config["subject"] and journey.status == "draft"
    assert not Step.objects.filter(journey=journey, key="bad").exists()
    delete = reverse("admin:journeys_journey_delete", args=[journey.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Journey.objects.filter(pk=journey.pk).exists()


@pytest.fixture
def engine_rows():
    """An enrollment with its step execution and outbound email, made by the engine."""
    from crm_core.tests.factories import ContactFactory

    from .engine_support import live, tick
    from .factories import SegmentMemberFactory

    contact = ContactFactory(email="ann@example.com")
    SegmentMemberFactory(segment_id=1, contact=contact)
    live(
        make_journey(
            steps=[send_email_step(), {"key": "pause", "kind": "wait_duration", "config": {"days": 3}}]
        )
    )
    tick()
    enrollment = Enrollment.objects.get(contact=contact)
    return {
        "enrollment": enrollment,
        "stepexecution": StepExecution.objects.get(enrollment=enrollment),
        "outboundemail": OutboundEmail.objects.get(enrollment=enrollment),
    }


def _state() -> list:
    return [
        list(Enrollment.objects.values_list("pk", "state", "next_run_at", "current_step_id")),
        list(StepExecution.objects.values_list("pk", "outcome", "detail")),
        list(OutboundEmail.objects.values_list("pk", "status", "open_count")),
    ]


@pytest.mark.parametrize("name", ["enrollment", "stepexecution", "outboundemail"])
def test_the_engine_rows_are_shown_and_found_but_not_written(client, admin_user, engine_rows, name):
    row = engine_rows[name]
    client.force_login(admin_user)
    changelist = reverse(f"admin:journeys_{name}_changelist")
    found = client.get(changelist, {"q": "ANN@example.com"})
    assert found.status_code == 200 and found.context["cl"].result_count == 1
    assert client.get(changelist, {"q": "bob@example.com"}).context["cl"].result_count == 0
    assert client.get(changelist, {"journey__id__exact": row.journey_id}).context["cl"].result_count == 1
    view = client.get(reverse(f"admin:journeys_{name}_change", args=[row.pk]))
    assert view.status_code == 200 and 'name="_save"' not in view.content.decode()

    before = _state()
    assert client.post(reverse(f"admin:journeys_{name}_add"), {"state": "active"}).status_code == 403
    change = reverse(f"admin:journeys_{name}_change", args=[row.pk])
    edits = {"state": "exited", "outcome": "failed", "status": "pending", "open_count": "99"}
    assert client.post(change, edits).status_code == 403
    delete = reverse(f"admin:journeys_{name}_delete", args=[row.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    bulk = {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"}
    response = client.post(changelist, bulk)
    assert response.status_code in (200, 302)  # no such action: the admin says so and does nothing
    assert "delete_selected" not in client.get(changelist).content.decode()
    assert _state() == before
