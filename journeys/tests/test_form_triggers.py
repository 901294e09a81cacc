"""Form-submit triggers match what landing records, and nothing before go-live (or a restart) enters."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from crm_core.models import InteractionKind
from crm_core.services import interaction_record
from crm_core.tests.factories import ContactFactory
from landing.tests.factories import LandingPageFactory
from landing.tests.utils import submit

from .. import services
from ..models import Journey
from .factories import make_journey

pytestmark = pytest.mark.django_db

END = [{"key": "done", "kind": "end"}]


@pytest.fixture(autouse=True)
def _generous_form_limit(settings):
    settings.LANDING_RATE_LIMIT = "100000/minute"


def _trigger(config) -> Journey:
    journey = make_journey(entry_type="trigger", trigger_kind="form_submit", trigger_config=config, steps=END)
    return services.journey_go_live(journey=journey)


def _entered(journey) -> set[str]:
    return set(journey.enrollments.values_list("contact__email", flat=True))


@pytest.mark.parametrize("config", ["id", "slug", "form"])
def test_a_trigger_by_page_id_slug_or_form_enrolls_real_submissions(config):
    page, other = LandingPageFactory(slug="trig", title="Trigger page"), LandingPageFactory()
    journey = _trigger({"id": {"page": page.pk}, "slug": {"page": "trig"}, "form": {"form": "trig"}}[config])
    submit(Client(), page, ip="10.1.0.1", email="in@example.com", last_name="In")
    submit(Client(), other, ip="10.1.0.1", email="out@example.com", last_name="Out")
    services.journeys_tick(inline=True)
    assert _entered(journey) == {"in@example.com"}


def test_nothing_from_before_go_live_enters_at_the_boundary():
    page = LandingPageFactory(slug="edge")
    journey = _trigger({"page": page.pk})
    live_since = Journey.objects.get(pk=journey.pk).live_since
    for email, offset in (("before@example.com", -1), ("at@example.com", 0), ("after@example.com", 1)):
        interaction_record(
            contact_id=ContactFactory(email=email).pk,
            kind=InteractionKind.FORM_SUBMIT,
            occurred_at=live_since + timedelta(milliseconds=offset),  # processed (created) after go-live
            properties={"form": page.slug, "landing_page_id": page.pk},
        )
    services.journeys_tick(inline=True)
    assert _entered(journey) == {"at@example.com", "after@example.com"}


def test_after_a_restart_only_what_happened_since_enters():
    page = LandingPageFactory(slug="again")
    journey = _trigger({"page": page.pk})
    services.journeys_tick(inline=True)
    services.journey_pause(journey=journey)
    submit(Client(), page, ip="10.1.0.2", email="paused@example.com", last_name="P")
    journey = services.journey_go_live(journey=journey)
    submit(Client(), page, ip="10.1.0.2", email="resumed@example.com", last_name="R")
    services.journeys_tick(now=timezone.now(), inline=True)
    assert _entered(journey) == {"resumed@example.com"}


def test_a_trigger_naming_no_page_is_refused(marketer_client):
    body = {"name": "x", "entry_type": "trigger", "trigger_kind": "form_submit", "steps": END}
    response = marketer_client.post(
        "/api/journeys/", {**body, "trigger_config": {"page": 999999}}, format="json"
    )
    assert response.status_code == 400 and "no landing page" in str(response.json())
