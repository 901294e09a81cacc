"""The work panel and its forms on the record pages: log activities, add and complete tasks."""

import pytest
from django.urls import reverse

from crm_core.tests.factories import ContactFactory, LeadFactory, MarketerFactory, SalesRepFactory
from sales import services
from sales.models import Activity, Task

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def rep_client(client, sales_rep):
    client.force_login(sales_rep)
    return client


def test_a_rep_logs_a_call_on_a_lead_with_htmx_and_the_timeline_is_told(rep_client, sales_rep):
    lead = LeadFactory()
    url = reverse("sales:activity-create", args=["lead", lead.pk])
    response = rep_client.post(
        url,
        {"kind": "call", "subject": "Intro call", "outcome": "connected", "duration_minutes": "15"},
        **HTMX,
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "timeline-changed"
    assert "Logged: Call: Intro call." in response.content.decode()
    activity = Activity.objects.get()
    assert (activity.lead_id, activity.contact_id, activity.author_id, activity.duration_minutes) == (
        lead.pk,
        lead.parent_contact_id,
        sales_rep.pk,
        15,
    )


def test_without_htmx_the_form_redirects_back(rep_client):
    contact = ContactFactory()
    response = rep_client.post(
        reverse("sales:task-create", args=["contact", contact.pk]),
        {"title": "Send the deck", "due_at": "2030-01-02T10:00"},
    )
    assert response.status_code == 302 and response["Location"] == reverse(
        "workspace:contact-detail", args=[contact.pk]
    )
    assert Task.objects.get().contact_id == contact.pk


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "call", "subject": ""},
        {"kind": "call", "subject": "x", "duration_minutes": "-3"},
        {"kind": "note", "subject": "x", "outcome": "connected"},
        {"kind": "dance", "subject": "x"},
        {"kind": "meeting", "subject": "x", "meeting_at": "tomorrow-ish"},
    ],
)
def test_bad_activity_forms_are_400_and_save_nothing(rep_client, data):
    lead = LeadFactory()
    url = reverse("sales:activity-create", args=["lead", lead.pk])
    assert rep_client.post(url, data, **HTMX).status_code == 400
    assert rep_client.post(url, data).status_code == 400
    assert not Activity.objects.exists()


def test_marketers_read_the_panel_but_cannot_write(client):
    client.force_login(MarketerFactory())
    lead = LeadFactory()
    panel = client.get(reverse("sales:work", args=["lead", lead.pk]))
    assert panel.status_code == 200 and "Log a call" not in panel.content.decode()
    response = client.post(
        reverse("sales:activity-create", args=["lead", lead.pk]), {"kind": "note", "subject": "x"}
    )
    assert response.status_code == 403
    assert (
        client.post(reverse("sales:task-create", args=["lead", lead.pk]), {"title": "x"}).status_code == 403
    )


def test_only_the_owner_completes_a_task(rep_client, sales_rep):
    lead = LeadFactory()
    other = SalesRepFactory()
    theirs = services.task_create(actor=other, title="Theirs", lead=lead)
    mine = services.task_create(actor=sales_rep, title="Mine", lead=lead)
    assert rep_client.post(reverse("sales:task-complete", args=[theirs.pk])).status_code == 403
    response = rep_client.post(
        reverse("sales:task-complete", args=[mine.pk]), {"entity": "lead", "record": lead.pk}, **HTMX
    )
    assert response.status_code == 200 and "Done: Mine." in response.content.decode()
    assert Task.objects.get(pk=mine.pk).done_at is not None
    assert Task.objects.get(pk=theirs.pk).done_at is None
    assert rep_client.post(reverse("sales:task-complete", args=[999999])).status_code == 404


def test_notifications_page_and_badge(rep_client, sales_rep):
    services.notifications_create(
        kind="task_assigned", rows=[(sales_rep.pk, "New task: Call Ann", None, None)]
    )
    assert rep_client.get(reverse("sales:notifications-badge")).content == b"1"
    assert "New task: Call Ann" in rep_client.get(reverse("sales:notifications")).content.decode()
    assert rep_client.post(reverse("sales:notifications")).status_code == 302
    assert rep_client.get(reverse("sales:notifications-badge")).content == b""


def test_marketers_see_the_tasks_a_journey_created_on_its_page(client):
    from journeys.tests.factories import make_journey, send_email_step

    journey = make_journey(steps=[send_email_step()])
    rep = SalesRepFactory(username="ria")
    contact = ContactFactory(first_name="Ann", last_name="Lee")
    services.tasks_create(
        title="Call after the webinar",
        source="journey",
        journey_id=journey.pk,
        targets=[services.TaskTarget(owner_id=rep.pk, contact_id=contact.pk)],
    )
    services.tasks_create(
        title="Other journey",
        source="journey",
        journey_id=journey.pk + 1,
        targets=[services.TaskTarget(None, contact.pk)],
    )
    client.force_login(MarketerFactory())
    page = client.get(reverse("journeys:detail", args=[journey.pk])).content.decode()
    assert reverse("sales:journey-tasks", args=[journey.pk]) in page
    fragment = client.get(reverse("sales:journey-tasks", args=[journey.pk])).content.decode()
    assert "Call after the webinar" in fragment and "Ann Lee" in fragment and "ria" in fragment
    assert "Other journey" not in fragment
