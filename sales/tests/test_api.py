"""Activities and tasks over the API: reps log and edit their own, marketers read, admins do anything."""

from datetime import timedelta

import pytest
from django.utils import timezone

from crm_core.tests.factories import (
    AccountFactory,
    ContactFactory,
    LeadFactory,
    OpportunityFactory,
    SalesRepFactory,
)
from sales.models import Activity, Notification, Task

pytestmark = pytest.mark.django_db


def call(**extra):
    return {"kind": "call", "subject": "Intro call", "outcome": "connected", "duration_minutes": 12, **extra}


def test_a_rep_logs_a_call_on_a_lead_which_fills_its_contact_and_account(sales_client, sales_rep):
    account = AccountFactory()
    lead = LeadFactory(parent_contact=ContactFactory(parent_account=account))
    response = sales_client.post("/api/activities/", call(lead=lead.pk), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["lead"], body["contact"], body["account"], body["author"]) == (
        lead.pk,
        lead.parent_contact_id,
        account.pk,
        sales_rep.pk,
    )
    assert body["occurred_at"]
    assert (
        sales_client.get(f"/api/activities/?contact={lead.parent_contact_id}").json()["results"][0]["id"]
        == body["id"]
    )


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"kind": "note", "subject": "x"}, "non_field_errors"),  # no record
        ({"kind": "note", "subject": "x", "outcome": "connected"}, "outcome"),
        ({"kind": "note", "subject": "x", "attendees": "Ann"}, "attendees"),
        ({"kind": "note", "subject": "x", "duration_minutes": 5}, "duration_minutes"),
        ({"kind": "call", "subject": "x", "duration_minutes": -1}, "duration_minutes"),
        ({"kind": "call", "subject": "x", "outcome": "maybe"}, "outcome"),
        ({"kind": "party", "subject": "x"}, "kind"),
        ({"kind": "note", "subject": ""}, "subject"),
        ({"kind": "note", "subject": "x", "colour": "red"}, "colour"),
    ],
)
def test_bad_activities_are_400_naming_the_field_and_nothing_is_saved(sales_client, payload, field):
    contact = ContactFactory()
    if field != "non_field_errors":
        payload = {**payload, "contact": contact.pk}
    response = sales_client.post("/api/activities/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Activity.objects.exists()


def test_two_records_at_once_are_refused(sales_client):
    response = sales_client.post(
        "/api/activities/",
        {"kind": "note", "subject": "x", "contact": ContactFactory().pk, "account": AccountFactory().pk},
        format="json",
    )
    assert response.status_code == 400


def test_meetings_and_opportunities(sales_client):
    opportunity = OpportunityFactory()
    at = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    response = sales_client.post(
        "/api/activities/",
        {
            "kind": "meeting",
            "subject": "Demo",
            "meeting_at": at.isoformat(),
            "attendees": "Ann\nBob",
            "duration_minutes": 45,
            "opportunity": opportunity.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    activity = Activity.objects.get()
    assert (activity.occurred_at, activity.contact_id) == (at, opportunity.contact_id)


def test_reps_edit_only_their_own_activities_and_marketers_only_read(
    sales_client, marketer_client, admin_client_api
):
    contact = ContactFactory()
    mine = sales_client.post("/api/activities/", call(contact=contact.pk), format="json").json()
    other = SalesRepFactory()
    theirs = Activity.objects.create(
        kind="note", subject="theirs", contact=contact, author=other, occurred_at=timezone.now()
    )
    assert (
        sales_client.patch(f"/api/activities/{mine['id']}/", {"subject": "Better"}, format="json").status_code
        == 200
    )
    denied = sales_client.patch(f"/api/activities/{theirs.pk}/", {"subject": "Mine now"}, format="json")
    assert denied.status_code == 403 and "logged this activity" in denied.json()["detail"]
    assert sales_client.delete(f"/api/activities/{theirs.pk}/").status_code == 403
    # The record an activity is about cannot move.
    moved = sales_client.patch(
        f"/api/activities/{mine['id']}/", {"contact": ContactFactory().pk}, format="json"
    )
    assert moved.status_code == 400
    # Marketers read, never write.
    assert marketer_client.get("/api/activities/").status_code == 200
    assert (
        marketer_client.post("/api/activities/", call(contact=contact.pk), format="json").status_code == 403
    )
    assert (
        marketer_client.patch(f"/api/activities/{mine['id']}/", {"subject": "x"}, format="json").status_code
        == 403
    )
    # Admins edit anyone's.
    assert (
        admin_client_api.patch(f"/api/activities/{theirs.pk}/", {"subject": "ok"}, format="json").status_code
        == 200
    )
    assert sales_client.delete(f"/api/activities/{mine['id']}/").status_code == 204
    assert list(Activity.objects.values_list("subject", flat=True)) == ["ok"]


def test_a_rep_creates_completes_and_reopens_own_tasks(sales_client, sales_rep):
    lead = LeadFactory()
    due = (timezone.now() + timedelta(hours=3)).isoformat()
    response = sales_client.post(
        "/api/tasks/", {"title": "Send proposal", "due_at": due, "lead": lead.pk}, format="json"
    )
    assert response.status_code == 201, response.json()
    task = response.json()
    assert (task["owner"], task["source"], task["done"], task["contact"]) == (
        sales_rep.pk,
        "manual",
        False,
        lead.parent_contact_id,
    )
    done = sales_client.patch(f"/api/tasks/{task['id']}/", {"done": True}, format="json").json()
    assert done["done"] is True and done["done_at"]
    assert sales_client.get("/api/tasks/?done=false").json()["results"] == []
    assert (
        sales_client.patch(f"/api/tasks/{task['id']}/", {"done": False}, format="json").json()["done"]
        is False
    )
    assert sales_client.get("/api/tasks/?done=maybe").status_code == 400


def test_tasks_belong_to_their_owner(sales_client, marketer_client, admin_client_api, admin_user):
    other = SalesRepFactory()
    contact = ContactFactory()
    # A rep cannot hand tasks to someone else; an admin can, and the owner is told.
    denied = sales_client.post(
        "/api/tasks/", {"title": "x", "contact": contact.pk, "owner": other.pk}, format="json"
    )
    assert denied.status_code == 403
    made = admin_client_api.post(
        "/api/tasks/", {"title": "Call", "contact": contact.pk, "owner": other.pk}, format="json"
    )
    assert made.status_code == 201
    task_id = made.json()["id"]
    assert Notification.objects.get().user_id == other.pk
    assert sales_client.patch(f"/api/tasks/{task_id}/", {"done": True}, format="json").status_code == 403
    assert sales_client.patch(f"/api/tasks/{task_id}/", {}, format="json").status_code == 403
    assert marketer_client.get(f"/api/tasks/{task_id}/").status_code == 200
    assert marketer_client.patch(f"/api/tasks/{task_id}/", {"done": True}, format="json").status_code == 403
    assert Task.objects.get().done_at is None


def test_marketers_filter_tasks_made_by_journeys(marketer_client):
    Task.objects.create(
        title="From journey",
        contact=ContactFactory(),
        source="journey",
        journey_id=7,
        created_at=timezone.now(),
    )
    Task.objects.create(title="By hand", contact=ContactFactory(), source="manual", created_at=timezone.now())
    rows = marketer_client.get("/api/tasks/?source=journey").json()["results"]
    assert [(r["title"], r["journey_id"]) for r in rows] == [("From journey", 7)]


def test_unknown_records_are_400_not_500(sales_client):
    assert sales_client.post("/api/tasks/", {"title": "x", "lead": 999999}, format="json").status_code == 400
    assert (
        sales_client.post(
            "/api/activities/", {"kind": "note", "subject": "x", "account": "abc"}, format="json"
        ).status_code
        == 400
    )


def test_a_form_put_without_done_leaves_a_done_task_done(sales_client, sales_rep):
    from sales import services

    task = services.task_complete(
        actor=sales_rep, task=services.task_create(actor=sales_rep, title="x", contact=ContactFactory())
    )
    response = sales_client.put(f"/api/tasks/{task.pk}/", {"title": "renamed"}, format="multipart")
    assert response.status_code == 200, response.json()
    assert response.json()["done"] is True
