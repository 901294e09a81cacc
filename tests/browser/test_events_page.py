"""A marketer manages events in the workspace: opens Events from the menu, creates an event (a bad
capacity is an error at the field first), sees its registrations and marks one attended. Screenshots
at desktop and phone width are kept in the test's folder (and in $SCREENSHOT_DIR when set)."""

import datetime as dt

from django.utils import timezone

from crm_core.models import Event, EventRegistration, Interaction, InteractionKind
from crm_core.services import event_create, event_register
from crm_core.tests.factories import ContactFactory, MarketerFactory

from .test_integrity_pages import shoot
from .test_sales_and_dashboard import log_in


def test_a_marketer_creates_an_event_and_marks_attendance(live_server, browser_page, tmp_path):
    MarketerFactory(username="mia")
    summit = event_create(
        name="Nordic Data Summit 2031: keynotes, workshops and the partner evening",
        starts_at=timezone.now() + dt.timedelta(days=20),
        location="Oslo Spektrum, Sonja Henies plass 2",
        capacity=250,
    )
    for i in range(3):
        contact = ContactFactory(
            first_name=f"Guest{i}", last_name="Longname-Example", email=f"guest{i}@example.com"
        )
        event_register(event=summit, contact=contact)
    event_create(name="Open day")
    page = browser_page
    log_in(page, live_server, "mia")
    page.wait_for_url("**/dashboard/")
    page.click('[data-testid="nav"] >> text=Events')
    page.wait_for_url("**/events/")
    row = page.locator(f'tr[data-event-id="{summit.pk}"]')
    assert "3 / 250" in row.locator('[data-testid="registered"]').inner_text()
    shoot(page, tmp_path, "event-list")

    page.click('[data-testid="new-event"]')
    page.fill("#id_name", "Partner webinar")
    page.fill("#id_starts_at", "2031-06-01T15:00")
    page.fill("#id_capacity", "0")
    page.click('[data-testid="event-save"]')
    assert page.locator('[data-testid="error-capacity"]').is_visible()
    shoot(page, tmp_path, "event-form-error")
    assert not Event.objects.filter(name="Partner webinar").exists()
    page.fill("#id_capacity", "80")
    page.click('[data-testid="event-save"]')
    page.wait_for_url("**/events/*/")
    assert page.locator('[data-testid="event-title"]').inner_text() == "Partner webinar"

    page.goto(f"{live_server.url}/events/{summit.pk}/")
    first = page.locator('[data-testid="mark-attended"]').first
    first.click()
    page.wait_for_load_state()
    assert page.locator('[data-testid="mark-attended"]').count() == 2
    assert page.locator('[data-testid="attended"]').inner_text() == "1"
    shoot(page, tmp_path, "event-detail")
    attended = EventRegistration.objects.get(event=summit, attended=True)
    assert (
        Interaction.objects.filter(kind=InteractionKind.EVENT_ATTENDANCE, contact=attended.contact).count()
        == 1
    )
