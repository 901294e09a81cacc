"""Every writer obeys the CRM's rules: lead state only through its services, the owner rule on every
surface, a consent trail and a change notice from every write path (the workspace's lead actions:
workspace/tests/test_lead_action_rules.py)."""

from contextlib import contextmanager

import pytest
from django.test import Client
from django.urls import reverse

from crm_core.models import (
    ConsentChange,
    ConsentSource,
    Contact,
    Lead,
    LeadStatus,
    LeadStatusChange,
    ListMembership,
    Opportunity,
    SubscriptionStatus,
)
from crm_core.services import lead_bulk_import
from crm_core.tests.factories import (
    ContactFactory,
    LeadFactory,
    ListMembershipFactory,
    SalesRepFactory,
    SubscriptionListFactory,
)
from crm_core.tests.notices import notices_sent

pytestmark = pytest.mark.django_db


@pytest.fixture
def notices(django_capture_on_commit_callbacks):
    """A context manager: the change notices sent while its block runs (on-commit callbacks executed)."""

    @contextmanager
    def capture():
        with notices_sent() as seen, django_capture_on_commit_callbacks(execute=True):
            yield seen

    return capture


def noticed(seen, entity, pk) -> bool:
    return any(n.entity == entity and (n.ids is None or pk in n.ids) for n in seen)


# --- 1. Lead state changes only through the lifecycle, scoring and assignment ----------------------------


def test_a_rep_cannot_patch_lead_state_through_the_api(sales_client, sales_rep):
    lead = LeadFactory(owner=sales_rep, topic="Demo")
    response = sales_client.patch(
        f"/api/leads/{lead.pk}/",
        {"status": "qualified", "score": 999, "sales_ready": True, "grade": "A"},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"status", "score", "sales_ready", "grade"}
    assert "lifecycle actions" in body["status"][0] and "lead scoring" in body["score"][0]
    lead.refresh_from_db()
    assert (lead.status, lead.score, lead.sales_ready, lead.grade) == (LeadStatus.NEW, 0, False, "")
    assert not LeadStatusChange.objects.exists() and not Opportunity.objects.exists()


def test_sending_back_the_state_a_lead_has_is_accepted(sales_client, sales_rep):
    lead = LeadFactory(owner=sales_rep, topic="Demo")
    got = sales_client.get(f"/api/leads/{lead.pk}/").json()
    got["topic"] = "Demo II"
    for read_only in ("id", "created_at", "updated_at"):
        got.pop(read_only)
    response = sales_client.put(f"/api/leads/{lead.pk}/", got, format="json")
    assert response.status_code == 200, response.json()
    assert Lead.objects.get(pk=lead.pk).topic == "Demo II"


def test_the_admin_form_shows_lead_state_read_only(client, admin_user, django_user_model):
    client.force_login(admin_user)
    rep = SalesRepFactory()
    lead = LeadFactory(topic="Demo")
    url = reverse("admin:crm_core_lead_change", args=[lead.pk])
    page = client.get(url).content.decode()
    assert 'name="status"' not in page and 'name="score"' not in page and 'name="sales_ready"' not in page
    response = client.post(
        url,
        {"topic": "Demo II", "source": lead.source, "owner": rep.pk, "status": "qualified", "score": 999},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    lead.refresh_from_db()
    assert (lead.topic, lead.owner_id, lead.status, lead.score) == ("Demo II", rep.pk, LeadStatus.NEW, 0)
    assert lead.updated_by_id == admin_user.pk


def test_the_actor_is_recorded_by_imports(marketer):
    result = lead_bulk_import(rows=[{"topic": "Webinar", "email": "x@example.com"}], imported_by=marketer)
    assert Lead.objects.get(pk=result.lead_ids[0]).created_by_id == marketer.pk


# --- 2. The owner rule on every surface ---------------------------------------------------------------


@pytest.mark.parametrize("action", ["accept", "qualify", "disqualify", "return-to-marketing"])
def test_a_rep_cannot_act_on_another_reps_lead_through_the_api(sales_client, action):
    other = SalesRepFactory()
    lead = LeadFactory(owner=other, status=LeadStatus.MARKETING_QUALIFIED)
    response = sales_client.post(f"/api/leads/{lead.pk}/{action}/", {}, format="json")
    assert response.status_code == 403
    assert "another rep" in response.json()["detail"]
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.MARKETING_QUALIFIED
    assert not LeadStatusChange.objects.exists()


def test_a_rep_acts_on_own_and_unowned_leads(sales_client, sales_rep):
    own = LeadFactory(owner=sales_rep, status=LeadStatus.MARKETING_QUALIFIED)
    unowned = LeadFactory(owner=None, status=LeadStatus.MARKETING_QUALIFIED)
    assert sales_client.post(f"/api/leads/{own.pk}/accept/", {}, format="json").status_code == 200
    assert sales_client.post(f"/api/leads/{unowned.pk}/qualify/", {}, format="json").status_code == 200


def test_a_rep_cannot_edit_or_reassign_another_reps_lead(sales_client, sales_rep):
    other = SalesRepFactory()
    lead = LeadFactory(owner=other, topic="Demo")
    assert sales_client.patch(f"/api/leads/{lead.pk}/", {"topic": "Mine"}, format="json").status_code == 403
    taken = sales_client.post(f"/api/leads/{lead.pk}/assign/", {"owner": sales_rep.pk}, format="json")
    assert taken.status_code == 403 and "unowned" in taken.json()["detail"]
    assert Lead.objects.get(pk=lead.pk).owner_id == other.pk


def test_assignment_rules(sales_client, marketer_client, sales_rep):
    unowned = LeadFactory(owner=None)
    other = SalesRepFactory()
    assert (
        sales_client.post(f"/api/leads/{unowned.pk}/assign/", {"owner": other.pk}, format="json").status_code
        == 403
    )
    mine = sales_client.post(f"/api/leads/{unowned.pk}/assign/", {"owner": sales_rep.pk}, format="json")
    assert mine.status_code == 200 and mine.json()["owner"] == sales_rep.pk
    moved = marketer_client.post(f"/api/leads/{unowned.pk}/assign/", {"owner": other.pk}, format="json")
    assert moved.status_code == 200 and Lead.objects.get(pk=unowned.pk).owner_id == other.pk
    bad = marketer_client.post(f"/api/leads/{unowned.pk}/assign/", {"owner": 10**9, "x": 1}, format="json")
    assert bad.status_code == 400 and set(bad.json()) == {"owner", "x"}


# --- Consent trail and change notices on every write path of crm_core ------------------------------------


def test_api_contact_writes_leave_a_consent_trail_and_a_notice(marketer_client, marketer, notices):
    with notices() as seen:
        created = marketer_client.post(
            "/api/contacts/", {"email": "ada@example.com", "do_not_bulk_email": True}, format="json"
        )
    assert created.status_code == 201
    contact = Contact.objects.get(pk=created.json()["id"])
    assert noticed(seen, "contact", contact.pk)
    assert ConsentChange.objects.filter(
        contact=contact, field="do_not_bulk_email", new_value="True", source=ConsentSource.API, actor=marketer
    ).exists()
    with notices() as seen:
        changed = marketer_client.patch(
            f"/api/contacts/{contact.pk}/", {"consent_level": 3, "city": "Oslo"}, format="json"
        )
    assert changed.status_code == 200
    assert noticed(seen, "contact", contact.pk)
    fields = set().union(*(n.fields or set() for n in seen if n.entity == "contact"))
    assert {"consent_level", "city"} <= fields
    trail = ConsentChange.objects.filter(contact=contact, field="consent_level")
    assert [(c.new_value, c.source, c.actor_id) for c in trail] == [("3", ConsentSource.API, marketer.pk)]


def test_admin_contact_writes_leave_a_consent_trail_and_a_notice(client, admin_user, notices):
    client.force_login(admin_user)
    contact = ContactFactory(email="bob@example.com", do_not_email=False, consent_level=1)
    page = client.get(reverse("admin:crm_core_contact_change", args=[contact.pk]))
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data = {k: ("" if v is None else v) for k, v in data.items() if v is not False}
    data.update(do_not_email="on", consent_level=2)
    with notices() as seen:
        response = client.post(reverse("admin:crm_core_contact_change", args=[contact.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert noticed(seen, "contact", contact.pk)
    trail = {
        (c.field, c.new_value, c.source, c.actor_id) for c in ConsentChange.objects.filter(contact=contact)
    }
    assert trail == {
        ("do_not_email", "True", ConsentSource.ADMIN, admin_user.pk),
        ("consent_level", "2", ConsentSource.ADMIN, admin_user.pk),
    }


def test_admin_list_membership_changes_are_recorded_and_never_deleted(client, admin_user, notices):
    client.force_login(admin_user)
    membership = ListMembershipFactory(status=SubscriptionStatus.SUBSCRIBED)
    url = reverse("admin:crm_core_listmembership_change", args=[membership.pk])
    with notices() as seen:
        response = client.post(url, {"status": SubscriptionStatus.UNSUBSCRIBED})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert noticed(seen, "subscription", membership.pk)
    membership.refresh_from_db()
    assert membership.status == SubscriptionStatus.UNSUBSCRIBED and membership.unsubscribed_at is not None
    change = ConsentChange.objects.get(contact=membership.contact, field="list")
    assert (change.new_value, change.source, change.actor_id) == (
        "unsubscribed",
        ConsentSource.ADMIN,
        admin_user.pk,
    )
    assert (
        client.post(reverse("admin:crm_core_listmembership_delete", args=[membership.pk])).status_code == 403
    )
    assert ListMembership.objects.filter(pk=membership.pk).exists()


def test_subscription_center_changes_leave_a_trail_and_a_notice(notices):
    from landing.services import subscription_preferences_save

    contact = ContactFactory(email="cy@example.com", do_not_bulk_email=False)
    newsletter = SubscriptionListFactory(is_public=True)
    ListMembershipFactory(contact=contact, subscription_list=newsletter, status=SubscriptionStatus.SUBSCRIBED)
    with notices() as seen:
        subscription_preferences_save(
            contact=contact,
            bulk_email=False,
            subscribed_list_ids=set(),
            source=ConsentSource.SUBSCRIPTION_CENTER,
            ip_address="203.0.113.9",
        )
    assert noticed(seen, "contact", contact.pk) and any(n.entity == "subscription" for n in seen)
    trail = {(c.field, c.new_value) for c in ConsentChange.objects.filter(contact=contact)}
    assert trail == {("do_not_bulk_email", "True"), ("list", "unsubscribed")}
    assert ListMembership.objects.get(contact=contact, subscription_list=newsletter).status == "unsubscribed"


def test_lead_writes_announce_on_every_crm_core_path(
    marketer_client, sales_client, sales_rep, client, admin_user, notices
):
    contact = ContactFactory()
    with notices() as seen:
        created = marketer_client.post(
            "/api/leads/", {"topic": "Webinar", "parent_contact": contact.pk}, format="json"
        )
    lead_id = created.json()["id"]
    assert noticed(seen, "lead", lead_id)
    assert any(n.contact_ids and contact.pk in n.contact_ids for n in seen)
    with notices() as seen:
        marketer_client.patch(f"/api/leads/{lead_id}/", {"topic": "Webinar II"}, format="json")
    assert noticed(seen, "lead", lead_id)
    with notices() as seen:
        assert sales_client.post(f"/api/leads/{lead_id}/accept/", {}, format="json").status_code == 200
    assert noticed(seen, "lead", lead_id)
    with notices() as seen:
        result = lead_bulk_import(rows=[{"topic": "Import", "email": "imp@example.com"}])
    assert noticed(seen, "lead", result.lead_ids[0])
    client.force_login(admin_user)
    with notices() as seen:
        response = client.post(reverse("admin:crm_core_lead_delete", args=[lead_id]), {"post": "yes"})
    assert response.status_code == 302
    assert any(n.entity == "lead" and n.action == "deleted" and lead_id in n.ids for n in seen)
    assert not Lead.objects.filter(pk=lead_id).exists()


def test_a_landing_submission_announces_and_records_what_it_changed(notices):
    from landing.tests.factories import LandingPageFactory
    from landing.tests.utils import submit

    page = LandingPageFactory()
    with notices() as seen:
        response = submit(Client(), page, email="dee@example.com", last_name="Dee", _consent="on")
    assert response.status_code == 200
    contact = Contact.objects.get(email="dee@example.com")
    lead = Lead.objects.get(parent_contact=contact)
    assert noticed(seen, "lead", lead.pk) and noticed(seen, "contact", contact.pk)
    assert any(n.entity == "interaction" and contact.pk in (n.contact_ids or ()) for n in seen)
    change = ConsentChange.objects.get(contact=contact, field="consent_level")
    assert change.source == ConsentSource.LANDING_PAGE
