import pytest
from django.test import Client

from ..models import Journey
from .factories import make_journey, send_email_step

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_marketer_designs_a_journey_in_the_page(marketer):
    client = _client(marketer)
    response = client.post(
        "/journeys/",
        {
            "name": "Spring",
            "entry_type": "segment",
            "entry_segment_id": "4",
            "min_consent_level": "3",
            "exit_on_sales_ready": "on",
        },
    )
    assert response.status_code == 302
    journey = Journey.objects.get(name="Spring")
    url = f"/journeys/{journey.pk}/"
    steps = {
        "action": "steps",
        "step_count": "0",
        "step-new-key": "hello",
        "step-new-kind": "send_email",
        "step-new-config": '{"subject": "Hi", "html": "<p>Hi {{ contact.first_name }}</p>"}',
    }
    assert client.post(url, steps).status_code == 302
    steps = {
        "action": "steps",
        "step_count": "1",
        "step-0-key": "hello",
        "step-0-kind": "send_email",
        "step-0-config": '{"subject": "Hi", "html": "<p>Hi</p>"}',
        "step-0-next": "ab",
        "step-new-key": "ab",
        "step-new-kind": "split",
        "step-new-config": '{"percent": 50}',
        "step-new-else": "hello",
    }
    assert client.post(url, steps).status_code == 302
    assert [(s.key, s.next_step and s.next_step.key) for s in journey.steps.all()] == [
        ("hello", "ab"),
        ("ab", None),
    ]
    bad = {**steps, "step-new-config": "{not json"}
    response = client.post(url, bad)
    assert response.status_code == 400 and b"not valid JSON" in response.content
    assert client.post(url, {"action": "go-live"}).status_code == 302
    journey.refresh_from_db()
    assert journey.status == "live"
    page = client.get(url)
    assert page.status_code == 200 and b"Entered 0" in page.content and b"Pause" in page.content


def test_sales_reads_but_cannot_change(sales_rep, marketer):
    journey = make_journey(steps=[send_email_step()])
    client = _client(sales_rep)
    assert client.get("/journeys/").status_code == 200
    page = client.get(f"/journeys/{journey.pk}/")
    assert page.status_code == 200 and b"Go live" not in page.content
    assert client.post(f"/journeys/{journey.pk}/", {"action": "go-live"}).status_code == 403
    assert client.post("/journeys/", {"name": "x"}).status_code == 403
    assert Client().get("/journeys/").status_code == 302  # to the login page


def test_the_designer_picks_entry_and_suppression_segments_by_name(marketer):
    from segments.models import Segment

    entry = Segment.objects.create(name="Contoso decision makers", member_count=1234)
    suppressed = Segment.objects.create(name="Competitors", kind="static")
    journey = make_journey(
        steps=[send_email_step()], entry_segment_id=entry.pk, suppression_segment_id=suppressed.pk
    )
    page = _client(marketer).get(f"/journeys/{journey.pk}/").content.decode()
    label = "Contoso decision makers (dynamic, draft, 1,234 members)"
    assert f'<option value="{entry.pk}" selected>{label}' in page
    assert f'<option value="{suppressed.pk}" selected>Competitors (static, draft, 0 members)' in page
