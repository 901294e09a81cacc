"""The events pages: the list with registration and attendance counts, create and edit through the
service with the API's validation (errors at the field, nothing saved), the registrations of an
event with attendance marked once (the interaction recorded by the service), and who may."""

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.core.validators import MaxLengthValidator
from django.urls import reverse
from django.utils import timezone

from crm_core.models import Event, EventRegistration, Interaction, InteractionKind
from crm_core.services import event_create, event_register
from crm_core.tests.factories import ContactFactory
from crm_core.tests.notices import notices_sent

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def summit():
    event = event_create(name="Data Summit", starts_at=timezone.now() + dt.timedelta(days=30), capacity=2)
    people = [ContactFactory(email=f"p{i}@example.com") for i in range(3)]
    registrations = [event_register(event=event, contact=person)[0] for person in people]
    EventRegistration.objects.filter(pk=registrations[0].pk).update(attended=True)
    return event


def test_the_list_shows_date_capacity_registrations_and_attended(client, marketer, summit):
    event_create(name="Open day")
    client.force_login(marketer)
    response = client.get(reverse("workspace:event-list"))
    html = response.content.decode()
    assert response.status_code == 200
    row = html[html.index(f'data-event-id="{summit.pk}"') :].split("</tr>")[0]
    assert "Data Summit" in row and summit.starts_at.strftime("%Y-%m-%d") in row
    assert '<td class="num" data-testid="registered">3 <span class="muted nowrap capacity">/ 2</span>' in row
    assert '<td class="num" data-testid="attended">1</td>' in row
    assert "open" in html and reverse("workspace:event-create") in html
    nav = [item["label"] for item in response.context["nav_items"]]
    assert "Events" in nav


def test_the_list_costs_the_same_queries_whatever_the_events(
    client, marketer, summit, django_assert_num_queries
):
    client.force_login(marketer)
    client.get(reverse("workspace:event-list"))  # warm the session and permission caches
    with django_assert_num_queries(6) as few:
        client.get(reverse("workspace:event-list"))
    for i in range(5):
        event_register(event=event_create(name=f"Webinar {i}"), contact=ContactFactory())
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(reverse("workspace:event-list"))


def test_a_marketer_creates_and_edits_an_event(client, marketer):
    client.force_login(marketer)
    response = client.post(
        reverse("workspace:event-create"),
        {"name": "Roadshow", "starts_at": "2031-05-04T09:30", "location": "Oslo", "capacity": "40"},
    )
    event = Event.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "workspace:event-detail", args=[event.pk]
    )
    assert (event.location, event.capacity, event.starts_at.strftime("%Y-%m-%d %H:%M")) == (
        "Oslo", 40, "2031-05-04 09:30"
    )  # fmt: skip
    assert messages_of(response) == ["Event “Roadshow” saved."]

    page = client.get(reverse("workspace:event-edit", args=[event.pk])).content.decode()
    assert 'value="2031-05-04T09:30"' in page and 'value="Roadshow"' in page
    ContactFactory()
    response = client.post(
        reverse("workspace:event-edit", args=[event.pk]), {"name": "Roadshow Oslo", "capacity": ""}
    )
    event.refresh_from_db()
    assert response.status_code == 302
    assert (event.name, event.capacity, event.starts_at, event.location) == ("Roadshow Oslo", None, None, "")


@pytest.mark.parametrize(
    "post, field",
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "Ok", "capacity": "0"}, "capacity"),
        ({"name": "Ok", "capacity": "many"}, "capacity"),
        ({"name": "Ok", "starts_at": "next week"}, "starts_at"),
    ],
)
def test_bad_input_is_an_error_at_the_field_and_saves_nothing(client, marketer, post, field):
    client.force_login(marketer)
    response = client.post(reverse("workspace:event-create"), post)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert 'data-testid="form-errors"' in response.content.decode()
    assert not Event.objects.exists()


def test_the_service_checks_what_the_form_does_not(client, marketer, summit, monkeypatch):
    """The service's own validation (the model's full_clean, as for the API) lands on the form."""
    client.force_login(marketer)
    monkeypatch.setattr(Event._meta.get_field("name"), "validators", [MaxLengthValidator(5)])
    response = client.post(reverse("workspace:event-edit", args=[summit.pk]), {"name": "Too long a name"})
    assert response.status_code == 400 and "name" in response.context["form"].errors
    summit.refresh_from_db()
    assert summit.name == "Data Summit"


def test_marking_attendance_records_the_interaction_once(
    client, marketer, summit, django_capture_on_commit_callbacks
):
    client.force_login(marketer)
    page = client.get(reverse("workspace:event-detail", args=[summit.pk])).content.decode()
    assert page.count('data-testid="mark-attended"') == 2 and "over capacity" in page
    registration = EventRegistration.objects.filter(event=summit, attended=False).order_by("id").first()
    url = reverse("workspace:event-registration-attend", args=[summit.pk, registration.pk])
    with notices_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        response = client.post(url)
        again = client.post(url)
    assert response.status_code == 302 and response["Location"] == reverse(
        "workspace:event-detail", args=[summit.pk]
    )
    assert messages_of(response) == [f"{registration.contact.email} marked attended."]
    assert messages_of(again)[-1] == f"{registration.contact.email} was already marked attended."
    registration.refresh_from_db()
    assert registration.attended
    attendance = Interaction.objects.filter(
        kind=InteractionKind.EVENT_ATTENDANCE, contact=registration.contact
    )
    assert attendance.count() == 1 and attendance.get().properties["event"] == "Data Summit"
    assert [(n.entity, n.fields) for n in sent if n.entity == "registration"] == [
        ("registration", frozenset({"attended"}))
    ]
    assert (
        client.get(reverse("workspace:event-detail", args=[summit.pk]))
        .content.decode()
        .count('data-testid="mark-attended"')
        == 1
    )


def test_reps_read_events_but_may_not_change_them(client, sales_rep, summit):
    client.force_login(sales_rep)
    page = client.get(reverse("workspace:event-detail", args=[summit.pk])).content.decode()
    assert "Data Summit" in page and "mark-attended" not in page and "edit-event" not in page
    assert "Events" not in [item["label"] for item in client.get("/events/").context["nav_items"]]
    registration = EventRegistration.objects.filter(event=summit, attended=False).first()
    url = reverse("workspace:event-registration-attend", args=[summit.pk, registration.pk])
    assert client.post(url).status_code == 403
    assert client.post(reverse("workspace:event-create"), {"name": "Mine"}).status_code == 403
    registration.refresh_from_db()
    assert not registration.attended and not Event.objects.filter(name="Mine").exists()


def test_a_registration_of_another_event_or_a_missing_event_is_404(client, marketer, summit):
    client.force_login(marketer)
    other = event_create(name="Other")
    registration = EventRegistration.objects.filter(event=summit).first()
    url = reverse("workspace:event-registration-attend", args=[other.pk, registration.pk])
    assert client.post(url).status_code == 404
    assert client.get(reverse("workspace:event-detail", args=[999999])).status_code == 404
    assert client.get(reverse("workspace:event-edit", args=[999999])).status_code == 404
    assert client.get(reverse("workspace:event-list") + "?cursor=forged").status_code == 400
