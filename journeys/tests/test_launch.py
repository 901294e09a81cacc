"""Going live asks first: the confirmation counts who enters now (the entry segment's members less
the suppressed and those already in), how many of them may get its emails, and the emails of their
first hour along the flow (waits add up; an if/then step splits the contacts by its condition)."""

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from conftest import rerun_on_sqlite
from crm_core.tests.factories import ContactFactory

from ..launch import launch_preview
from ..models import Enrollment
from .factories import SegmentMemberFactory, make_journey, send_email_step

pytestmark = pytest.mark.django_db

DECIDER = {"match": "all", "conditions": [{"field": "job_role", "op": "eq", "value": "decision_maker"}]}


@pytest.fixture
def audience():
    """Segment 1: ada (decision maker), bob, cyd, dan (do not email), eve (suppressed: segment 2),
    gus (already in the journey); fay is in no segment."""
    people = {
        "ada": ContactFactory(job_role="decision_maker"),
        "bob": ContactFactory(),
        "cyd": ContactFactory(),
        "dan": ContactFactory(do_not_email=True),
        "eve": ContactFactory(),
        "gus": ContactFactory(),
    }
    for contact in people.values():
        SegmentMemberFactory(segment_id=1, contact=contact)
    SegmentMemberFactory(segment_id=2, contact=people["eve"])
    ContactFactory(first_name="Fay")
    return people


def _journey(steps, audience, **extra):
    journey = make_journey(steps=steps, suppression_segment_id=2, **extra)
    now = timezone.now()
    first = journey.steps.order_by("position").first()
    Enrollment.objects.create(
        journey=journey, contact=audience["gus"], current_step=first, entered_at=now, step_started_at=now
    )
    return journey


BRANCHED = [
    send_email_step("hello", next="pause"),
    {"key": "pause", "kind": "wait_duration", "config": {"minutes": 30}, "next": "decider"},
    {
        "key": "decider",
        "kind": "if_condition",
        "config": {"condition": DECIDER},
        "next": "pitch",
        "else": "later",
    },
    send_email_step("pitch", next=None),
    {"key": "later", "kind": "wait_duration", "config": {"hours": 2}, "next": "nudge"},
    send_email_step("nudge", next=None),
]


def test_the_first_hour_follows_waits_and_branches(audience):
    preview = launch_preview(_journey(BRANCHED, audience))
    # ada, bob, cyd and dan enter; dan may not be emailed
    assert (preview.enter_now, preview.may_email) == (4, 3)
    # "hello" to the three at once, "pitch" to ada after 30 minutes; "nudge" comes after 2.5 hours
    assert (preview.emails_first_hour, preview.approximate) == (4, False)


def test_a_wait_of_an_hour_first_means_no_email_in_the_first_hour(audience):
    steps = [{"key": "first", "kind": "wait_duration", "config": {"hours": 1}}, send_email_step()]
    preview = launch_preview(_journey(steps, audience))
    assert (preview.enter_now, preview.may_email, preview.emails_first_hour) == (4, 3, 0)


def test_a_split_is_estimated_and_a_trigger_journey_enters_nobody_now(audience):
    steps = [
        {"key": "ab", "kind": "split", "config": {"percent": 100}, "next": "hello", "else": None},
        send_email_step("hello", next=None),
    ]
    assert launch_preview(_journey(steps, audience)).emails_first_hour == 3
    trigger = make_journey(
        steps=[send_email_step()],
        entry_type="trigger",
        trigger_kind="interaction",
        trigger_config={"kind": "download"},
    )
    assert launch_preview(trigger).by_trigger


def test_go_live_shows_the_numbers_and_goes_live_only_when_confirmed(audience, marketer):
    journey = _journey(BRANCHED, audience)
    client = Client()
    client.force_login(marketer)
    page = client.get(f"/journeys/{journey.pk}/go-live/").content.decode()
    assert 'data-testid="enter-now">4<' in page and 'data-testid="first-hour">4<' in page
    assert 'data-testid="may-email">3<' in page
    assert client.post(f"/journeys/{journey.pk}/", {"action": "go-live"})["Location"].endswith("/go-live/")
    journey.refresh_from_db()
    assert journey.status == "draft"
    assert client.post(f"/journeys/{journey.pk}/go-live/").status_code == 400  # not confirmed
    assert client.post(f"/journeys/{journey.pk}/go-live/", {"confirm": "yes"}).status_code == 302
    journey.refresh_from_db()
    assert journey.status == "live"


def test_the_same_numbers_on_sqlite(tmp_path):
    """The module again on the embedded default's database (SQLite)."""
    run = rerun_on_sqlite(tmp_path, __file__, leave_out="test_the_same_numbers_on_sqlite")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert connection.vendor == "postgresql" and "4 passed" in run.stdout, run.stdout[-2000:]
