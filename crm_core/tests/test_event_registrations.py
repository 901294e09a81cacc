"""Events and registrations: the services (interactions written once, announced) and the API."""

from datetime import timedelta

import pytest
from django.utils import timezone

from crm_core import events
from crm_core.models import Event, EventRegistration, Interaction, InteractionKind
from crm_core.services import event_register, registration_attend, registration_save

from .factories import ContactFactory, EventFactory, EventRegistrationFactory
from .notices import notices_sent

pytestmark = pytest.mark.django_db

EVENTS_URL = "/api/events/"
REGISTRATIONS_URL = "/api/event-registrations/"


def _event_interactions(contact):
    return list(
        Interaction.objects.filter(
            contact=contact, kind__in=[InteractionKind.EVENT_REGISTRATION, InteractionKind.EVENT_ATTENDANCE]
        ).values_list("kind", "properties")
    )


# --- Services ------------------------------------------------------------------------------------


def test_registering_twice_writes_one_registration_and_one_interaction(django_capture_on_commit_callbacks):
    event, contact = EventFactory(name="Summit"), ContactFactory()
    at = timezone.now() - timedelta(days=1)
    with notices_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        first, created = event_register(event=event, contact=contact, registered_at=at)
        again, created_again = event_register(event=event, contact=contact)
    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert EventRegistration.objects.filter(event=event, contact=contact).count() == 1
    assert _event_interactions(contact) == [
        (
            InteractionKind.EVENT_REGISTRATION,
            {"event": "Summit", "event_id": event.pk, "registration_id": first.pk, "action": "registered"},
        )
    ]
    assert Interaction.objects.get(contact=contact).occurred_at == at
    entities = sorted((n.entity, n.action) for n in sent)
    assert entities == [(events.INTERACTION, events.CREATED), (events.REGISTRATION, events.CREATED)]
    assert all(n.contact_ids == frozenset({contact.pk}) for n in sent)


def test_attending_twice_records_attendance_once(django_capture_on_commit_callbacks):
    registration = EventRegistrationFactory()
    with notices_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        registration_attend(registration=registration)
        registration_attend(registration=EventRegistration.objects.get(pk=registration.pk))
    registration.refresh_from_db()
    assert registration.attended is True
    kinds = [kind for kind, _ in _event_interactions(registration.contact)]
    assert kinds == [InteractionKind.EVENT_ATTENDANCE]
    assert sorted((n.entity, n.action, n.fields) for n in sent if n.entity == events.REGISTRATION) == [
        (events.REGISTRATION, events.UPDATED, frozenset({"attended"}))
    ]


def test_the_admins_save_registers_and_attends_through_the_same_services():
    event, contact = EventFactory(), ContactFactory()
    registration = registration_save(event=event, contact=contact, attended=True)
    assert registration.attended is True
    kinds = sorted(kind for kind, _ in _event_interactions(contact))
    assert kinds == [InteractionKind.EVENT_ATTENDANCE, InteractionKind.EVENT_REGISTRATION]
    registration_save(registration=registration, attended=False)
    registration.refresh_from_db()
    assert registration.attended is False
    assert len(_event_interactions(contact)) == 2


# --- API -------------------------------------------------------------------------------------------


def test_marketer_creates_changes_and_deletes_an_event(marketer_client):
    response = marketer_client.post(
        EVENTS_URL, {"name": "Summit", "starts_at": "2027-03-01T09:00:00Z", "location": "Lyon"}, format="json"
    )
    assert response.status_code == 201, response.json()
    pk = response.json()["id"]
    response = marketer_client.patch(f"{EVENTS_URL}{pk}/", {"location": "Paris"}, format="json")
    assert response.status_code == 200 and response.json()["location"] == "Paris"
    assert marketer_client.get(EVENTS_URL).json()["count"] == 1
    assert marketer_client.delete(f"{EVENTS_URL}{pk}/").status_code == 204
    assert not Event.objects.exists()


def test_sales_reads_events_but_may_not_write_them(sales_client):
    event = EventFactory()
    assert sales_client.get(f"{EVENTS_URL}{event.pk}/").status_code == 200
    assert sales_client.post(EVENTS_URL, {"name": "X"}, format="json").status_code == 403
    assert sales_client.delete(f"{EVENTS_URL}{event.pk}/").status_code == 403
    registration = EventRegistrationFactory(event=event)
    assert sales_client.get(REGISTRATIONS_URL, {"event": event.pk}).json()["count"] == 1
    response = sales_client.patch(f"{REGISTRATIONS_URL}{registration.pk}/", {"attended": True}, format="json")
    assert response.status_code == 403
    assert EventRegistration.objects.get(pk=registration.pk).attended is False


def test_anonymous_gets_401(anon_client):
    assert anon_client.get(EVENTS_URL).status_code == 401


def test_bad_event_input_is_a_400_naming_the_field(marketer_client):
    response = marketer_client.post(EVENTS_URL, {"name": "", "shoe_size": 4}, format="json")
    assert response.status_code == 400
    assert set(response.json()) >= {"name", "shoe_size"}


def test_register_by_email_then_again_is_idempotent_200(marketer_client):
    event, contact = EventFactory(), ContactFactory(email="ada@example.com")
    body = {"event": event.pk, "email": "ADA@example.com"}
    first = marketer_client.post(REGISTRATIONS_URL, body, format="json")
    assert first.status_code == 201, first.json()
    assert first.json()["contact"] == contact.pk and first.json()["attended"] is False
    again = marketer_client.post(REGISTRATIONS_URL, {"event": event.pk, "contact": contact.pk}, format="json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert len(_event_interactions(contact)) == 1


def test_mark_attended_then_delete(marketer_client):
    registration = EventRegistrationFactory()
    url = f"{REGISTRATIONS_URL}{registration.pk}/"
    response = marketer_client.patch(url, {"attended": True}, format="json")
    assert response.status_code == 200 and response.json()["attended"] is True
    assert marketer_client.patch(url, {"attended": True}, format="json").status_code == 200
    assert [k for k, _ in _event_interactions(registration.contact)] == [InteractionKind.EVENT_ATTENDANCE]
    assert marketer_client.delete(url).status_code == 204
    assert not EventRegistration.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"email": "nobody@example.com"}, "email"),
        ({"contact": 999999}, "contact"),
        ({}, "contact"),
        ({"contact": "CONTACT", "email": "ada@example.com"}, "contact"),
        ({"contact": "CONTACT", "event": 999999}, "event"),
    ],
)
def test_bad_registrations_are_400s_naming_the_field(marketer_client, body, field):
    event, contact = EventFactory(), ContactFactory(email="ada@example.com")
    body = {"event": event.pk, **{k: contact.pk if v == "CONTACT" else v for k, v in body.items()}}
    response = marketer_client.post(REGISTRATIONS_URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not EventRegistration.objects.exists() and not Interaction.objects.exists()


def test_a_registration_cannot_move_to_another_contact(marketer_client):
    registration = EventRegistrationFactory()
    other = ContactFactory()
    url = f"{REGISTRATIONS_URL}{registration.pk}/"
    response = marketer_client.patch(url, {"contact": other.pk}, format="json")
    assert response.status_code == 400 and "contact" in response.json()
    assert marketer_client.put(url, {"attended": True}, format="json").status_code == 405


def test_capacity_is_optional_and_at_least_one_over_the_api(marketer_client):
    made = marketer_client.post(EVENTS_URL, {"name": "Roadshow", "capacity": 40}, format="json")
    assert made.status_code == 201 and made.json()["capacity"] == 40
    url = f"{EVENTS_URL}{made.json()['id']}/"
    assert marketer_client.patch(url, {"capacity": None}, format="json").json()["capacity"] is None
    for bad in (0, -1, "many"):
        response = marketer_client.patch(url, {"capacity": bad}, format="json")
        assert response.status_code == 400 and "capacity" in response.json(), bad
