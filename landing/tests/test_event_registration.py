"""A landing page that names an event registers each person who sends its form, once."""

import pytest

from crm_core.models import Contact, EventRegistration, Interaction, InteractionKind
from crm_core.tests.factories import EventFactory
from landing.models import FormSubmission, SubmissionStatus
from landing.tests.factories import LandingPageFactory
from landing.tests.utils import submit

pytestmark = pytest.mark.django_db


def test_a_submission_registers_the_contact_for_the_pages_event_once(web):
    event = EventFactory(name="Summit")
    page = LandingPageFactory(event=event)
    for _ in range(2):
        assert submit(web, page, email="ada@example.com", first_name="Ada", last_name="L").status_code == 200
    contact = Contact.objects.get()
    registration = EventRegistration.objects.get()
    assert (registration.event, registration.contact, registration.attended) == (event, contact, False)
    first = FormSubmission.objects.order_by("id").first()
    assert first.status == SubmissionStatus.PROCESSED
    assert registration.registered_at == first.received_at
    kinds = sorted(Interaction.objects.values_list("kind", flat=True))
    assert kinds == [
        InteractionKind.EVENT_REGISTRATION,
        InteractionKind.FORM_SUBMIT,
        InteractionKind.FORM_SUBMIT,
    ]
    properties = Interaction.objects.get(kind=InteractionKind.EVENT_REGISTRATION).properties
    assert (properties["event"], properties["event_id"]) == ("Summit", event.pk)


def test_an_invalid_submission_registers_nobody(web):
    page = LandingPageFactory(event=EventFactory())
    submit(web, page, email="not an email", first_name="Ada", last_name="L")
    assert not EventRegistration.objects.exists()


def test_the_api_sets_a_pages_event_and_refuses_an_unknown_one(marketer_client):
    page, event = LandingPageFactory(), EventFactory()
    url = f"/api/landing-pages/{page.pk}/"
    response = marketer_client.patch(url, {"event": event.pk}, format="json")
    assert response.status_code == 200 and response.json()["event"] == event.pk
    response = marketer_client.patch(url, {"event": 999999}, format="json")
    assert response.status_code == 400 and "event" in response.json()
    page.refresh_from_db()
    assert page.event == event
