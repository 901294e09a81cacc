"""Owners are told in the app, and by email where their settings say so: a task assigned (by hand or a
journey), a task overdue, a lead they own touched by marketing again (the hand-off: test_handoff.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from crm_core.models import InteractionKind, LeadStatus
from crm_core.services import interaction_record
from crm_core.tests.factories import ContactFactory, LeadFactory, SalesRepFactory
from sales import services
from sales.models import Notification, Task
from sales.tasks import tasks_overdue_notify_task

pytestmark = pytest.mark.django_db


def test_a_journey_task_notifies_its_owner_in_the_app_and_by_email(
    mailoutbox, django_capture_on_commit_callbacks
):
    rep = SalesRepFactory(email="rep@example.com")
    quiet = SalesRepFactory(email="quiet@example.com")
    services.user_settings_update(actor=quiet, email_task_assigned=False)
    a, b, c = ContactFactory(owner=rep), ContactFactory(owner=quiet), ContactFactory()
    with django_capture_on_commit_callbacks(execute=True):
        made = services.tasks_create(
            title="Follow up the webinar",
            source="journey",
            journey_id=3,
            targets=[
                services.TaskTarget(owner_id=o, contact_id=x.pk)
                for o, x in ((rep.pk, a), (quiet.pk, b), (None, c))
            ],
        )
    assert made == 3 and Task.objects.filter(source="journey", journey_id=3).count() == 3
    assert sorted(Notification.objects.values_list("user_id", "kind")) == sorted(
        [(rep.pk, "task_assigned"), (quiet.pk, "task_assigned")]
    )
    assert [m.to for m in mailoutbox] == [["rep@example.com"]]
    assert "Follow up the webinar" in mailoutbox[0].body and "/notifications/" in mailoutbox[0].body


def test_overdue_tasks_are_told_once(mailoutbox, django_capture_on_commit_callbacks):
    rep = SalesRepFactory(email="rep@example.com")
    lead = LeadFactory(owner=rep)
    now = timezone.now()
    late = services.task_create(actor=rep, title="Call back", due_at=now - timedelta(hours=1), lead=lead)
    services.task_create(actor=rep, title="Tomorrow", due_at=now + timedelta(days=1), lead=lead)
    done = services.task_create(actor=rep, title="Done", due_at=now - timedelta(days=1), lead=lead)
    services.task_complete(actor=rep, task=done)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks_overdue_notify_task() == 1
        assert tasks_overdue_notify_task() == 0
    note = Notification.objects.get()
    assert (note.kind, note.task_id, note.lead_id, note.message) == (
        "task_overdue",
        late.pk,
        lead.pk,
        "Overdue: Call back",
    )
    assert len(mailoutbox) == 1
    # A new due date that passes again is told again.
    services.task_update(actor=rep, task=late, due_at=now - timedelta(minutes=1))
    assert services.tasks_overdue_notify() == 1


def test_the_owner_hears_when_marketing_touches_their_lead_again(
    django_capture_on_commit_callbacks, mailoutbox
):
    rep = SalesRepFactory(email="rep@example.com")
    lead = LeadFactory(
        owner=rep, status=LeadStatus.SALES_ACCEPTED, first_name="Ann", last_name="Lee", topic="CRM"
    )
    unowned = LeadFactory(owner=None, status=LeadStatus.MARKETING_QUALIFIED)
    closed = LeadFactory(owner=rep, status=LeadStatus.QUALIFIED)
    for contact_id in (lead.parent_contact_id, unowned.parent_contact_id, closed.parent_contact_id):
        with django_capture_on_commit_callbacks(execute=True):
            interaction_record(
                contact_id=contact_id, kind=InteractionKind.EMAIL_CLICK, occurred_at=timezone.now()
            )
    note = Notification.objects.get()
    assert (note.user_id, note.kind, note.lead_id) == (rep.pk, "marketing_touch", lead.pk)
    assert note.message.startswith("Ann Lee (CRM) is active again")
    # Again while unread: no second notice; after reading, the next touch is told.
    with django_capture_on_commit_callbacks(execute=True):
        interaction_record(
            contact_id=lead.parent_contact_id, kind=InteractionKind.PAGE_VISIT, occurred_at=timezone.now()
        )
    assert Notification.objects.count() == 1
    services.notifications_mark_read(actor=rep)
    with django_capture_on_commit_callbacks(execute=True):
        interaction_record(
            contact_id=lead.parent_contact_id, kind=InteractionKind.PAGE_VISIT, occurred_at=timezone.now()
        )
    assert Notification.objects.count() == 2
    assert mailoutbox == []  # by email only when the rep asks for it


def test_a_touch_of_contacts_without_an_owned_open_lead_costs_one_read(django_assert_num_queries):
    """The notice of every new interaction reaches this subscriber: for contacts whose leads no rep owns
    open, it is one read and no transaction (no savepoint, no insert)."""
    rep = SalesRepFactory()
    plain = ContactFactory()
    unowned = LeadFactory(owner=None, status=LeadStatus.MARKETING_QUALIFIED)
    closed = LeadFactory(owner=rep, status=LeadStatus.QUALIFIED)
    contact_ids = [plain.pk, unowned.parent_contact_id, closed.parent_contact_id]
    with django_assert_num_queries(1):
        assert services.notify_marketing_touches(contact_ids=contact_ids) == 0
    owned = LeadFactory(owner=rep, status=LeadStatus.MARKETING_QUALIFIED)
    assert services.notify_marketing_touches(contact_ids=[*contact_ids, owned.parent_contact_id]) == 1
    with django_assert_num_queries(1):  # told already, unread: nothing to insert
        assert services.notify_marketing_touches(contact_ids=[owned.parent_contact_id]) == 0


def test_email_settings_page(client, sales_rep):
    client.force_login(sales_rep)
    page = client.get("/notifications/")
    assert page.status_code == 200 and page.context["settings_form"]["email_handoff"].value() is True
    response = client.post("/notifications/", {"action": "settings", "email_marketing_touch": "on"})
    assert response.status_code == 302
    assert services.users_wanting_email("marketing_touch", [sales_rep.pk]) == {sales_rep.pk}
    assert services.users_wanting_email("handoff", [sales_rep.pk]) == set()
