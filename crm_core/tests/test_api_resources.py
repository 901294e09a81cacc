"""Each CRM resource over the API: list, create, retrieve, update, delete, and its validation."""

import pytest

from crm_core.models import Account, Contact, Interaction, Lead, Opportunity, SubscriptionList
from crm_core.tests.factories import (
    AccountFactory,
    ContactFactory,
    InteractionFactory,
    LeadFactory,
    OpportunityFactory,
    OrphanLeadFactory,
    SubscriptionListFactory,
)

pytestmark = pytest.mark.django_db


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


# --- accounts ---------------------------------------------------------------------------------


def test_account_crud(admin_client_api):
    parent = AccountFactory(name="Contoso Group")
    created = admin_client_api.post(
        "/api/accounts/",
        {"name": "Contoso Ltd", "industry": "software", "employees": 250, "parent_account": parent.pk},
        format="json",
    )
    assert created.status_code == 201, created.content
    account_id = created.json()["id"]
    assert Account.objects.get(pk=account_id).parent_account == parent

    listed = admin_client_api.get("/api/accounts/")
    assert listed.json()["count"] == 2
    assert {"next", "previous", "results", "count"} <= set(listed.json())

    assert admin_client_api.get(f"/api/accounts/{account_id}/").json()["name"] == "Contoso Ltd"
    patched = admin_client_api.patch(f"/api/accounts/{account_id}/", {"country": "Germany"}, format="json")
    assert patched.status_code == 200 and patched.json()["country"] == "Germany"
    put = admin_client_api.put(f"/api/accounts/{account_id}/", {"name": "Contoso AG"}, format="json")
    assert put.status_code == 200 and Account.objects.get(pk=account_id).name == "Contoso AG"
    assert admin_client_api.delete(f"/api/accounts/{account_id}/").status_code == 204
    assert not Account.objects.filter(pk=account_id).exists()


def test_account_validation(admin_client_api):
    account = AccountFactory()
    bad = admin_client_api.post(
        "/api/accounts/",
        {"name": "", "industry": "farming", "employees": -1, "owner": 999999, "website": "not a url"},
        format="json",
    )
    assert bad.status_code == 400
    assert set(bad.json()) == {"name", "industry", "employees", "owner", "website"}
    own_parent = admin_client_api.patch(
        f"/api/accounts/{account.pk}/", {"parent_account": account.pk}, format="json"
    )
    assert own_parent.status_code == 400 and "parent_account" in own_parent.json()


# --- contacts ---------------------------------------------------------------------------------


def test_contact_crud_normalises_the_email(admin_client_api):
    account = AccountFactory()
    created = admin_client_api.post(
        "/api/contacts/",
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "  Ada.Lovelace@Example.COM ",
            "job_role": "decision_maker",
            "parent_account": account.pk,
            "consent_level": 3,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["email"] == "ada.lovelace@example.com"
    for field in [
        "id",
        "first_name",
        "last_name",
        "email",
        "job_role",
        "country",
        "parent_account",
        "marketing_only",
        "do_not_bulk_email",
        "do_not_email",
        "allow_prefill",
        "consent_level",
        "is_minor",
        "created_at",
        "updated_at",
    ]:
        assert field in body
    contact = Contact.objects.get(pk=body["id"])
    assert contact.email == "ada.lovelace@example.com"

    assert admin_client_api.get(f"/api/contacts/{contact.pk}/").json()["last_name"] == "Lovelace"
    patched = admin_client_api.patch(
        f"/api/contacts/{contact.pk}/", {"do_not_bulk_email": True, "email": ""}, format="json"
    )
    assert patched.status_code == 200
    contact.refresh_from_db()
    assert contact.do_not_bulk_email is True and contact.email is None
    assert admin_client_api.delete(f"/api/contacts/{contact.pk}/").status_code == 204
    assert admin_client_api.get(f"/api/contacts/{contact.pk}/").status_code == 404


def test_contact_email_conflicts_are_400_whatever_the_case(marketer_client):
    existing = ContactFactory(email="taken@example.com")
    clash = marketer_client.post("/api/contacts/", {"email": "TAKEN@example.com "}, format="json")
    assert clash.status_code == 400
    assert clash.json() == {"email": ["A contact with this email already exists."]}
    other = ContactFactory(email="other@example.com")
    update_clash = marketer_client.patch(
        f"/api/contacts/{other.pk}/", {"email": "Taken@Example.com"}, format="json"
    )
    assert update_clash.status_code == 400 and "email" in update_clash.json()
    # Keeping one's own email is no conflict.
    same = marketer_client.patch(
        f"/api/contacts/{existing.pk}/", {"email": "TAKEN@example.com"}, format="json"
    )
    assert same.status_code == 200
    assert Contact.objects.filter(email="taken@example.com").count() == 1


def test_contact_validation(marketer_client):
    response = marketer_client.post(
        "/api/contacts/",
        {
            "email": "not-an-email",
            "job_role": "astronaut",
            "consent_level": 9,
            "parent_account": 424242,
            "marketing_only": "perhaps",
            "first_name": "x" * 101,
        },
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {
        "email",
        "job_role",
        "consent_level",
        "parent_account",
        "marketing_only",
        "first_name",
    }
    assert Contact.objects.count() == 0


def test_unknown_fields_are_refused_and_read_only_ones_ignored(marketer_client):
    unknown = marketer_client.post(
        "/api/contacts/", {"email": "a@example.com", "shoe_size": 44}, format="json"
    )
    assert unknown.status_code == 400 and unknown.json() == {"shoe_size": ["Unknown field."]}
    contact = ContactFactory()
    echoed = marketer_client.get(f"/api/contacts/{contact.pk}/").json()
    echoed["last_name"] = "Changed"
    echoed["created_at"] = "2000-01-01T00:00:00Z"
    put = marketer_client.put(f"/api/contacts/{contact.pk}/", echoed, format="json")
    assert put.status_code == 200, put.content
    contact.refresh_from_db()
    assert contact.last_name == "Changed" and contact.created_at.year != 2000


# --- leads ------------------------------------------------------------------------------------


def test_lead_crud(sales_client, sales_rep):
    contact = ContactFactory()
    created = sales_client.post(
        "/api/leads/",
        {"topic": "Contoso Ltd Conference", "email": "Lead@Example.com", "parent_contact": contact.pk},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["email"] == "lead@example.com" and body["parent_contact"] == contact.pk
    for field in [
        "id",
        "topic",
        "first_name",
        "last_name",
        "email",
        "company_name",
        "status",
        "parent_contact",
        "parent_account",
        "score",
        "sales_ready",
        "source",
        "created_at",
    ]:
        assert field in body
    lead = Lead.objects.get(pk=body["id"])

    orphan = sales_client.patch(f"/api/leads/{lead.pk}/", {"parent_contact": None}, format="json")
    assert orphan.status_code == 200 and orphan.json()["parent_contact"] is None
    lead.refresh_from_db()
    assert lead.parent_contact_id is None
    assert sales_client.get(f"/api/leads/{lead.pk}/").json()["topic"] == "Contoso Ltd Conference"
    # Only admins delete leads.
    assert sales_client.delete(f"/api/leads/{lead.pk}/").status_code == 403


def test_lead_writes_go_through_the_services_and_record_the_actor(marketer_client, django_user_model):
    marketer = django_user_model.objects.get(username="marketer")
    created = marketer_client.post("/api/leads/", {"topic": "Webinar"}, format="json")
    assert created.status_code == 201
    lead = Lead.objects.get(pk=created.json()["id"])
    assert (lead.created_by_id, lead.updated_by_id) == (marketer.pk, marketer.pk)
    changed = marketer_client.patch(f"/api/leads/{lead.pk}/", {"topic": "Webinar II"}, format="json")
    assert changed.status_code == 200
    lead.refresh_from_db()
    assert (lead.topic, lead.updated_by_id) == ("Webinar II", marketer.pk)


def test_lead_validation(sales_client):
    response = sales_client.post(
        "/api/leads/",
        {"topic": "", "status": "won", "parent_contact": 10**30, "score": "high", "sales_ready": []},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"topic", "status", "parent_contact", "score", "sales_ready"}
    assert Lead.objects.count() == 0


# --- opportunities, interactions, subscription lists --------------------------------------------


def test_opportunity_crud(sales_client):
    contact = ContactFactory()
    lead = LeadFactory(parent_contact=contact)
    created = sales_client.post(
        "/api/opportunities/",
        {"name": "Big deal", "contact": contact.pk, "originating_lead": lead.pk, "amount": "1250.50"},
        format="json",
    )
    assert created.status_code == 201, created.content
    opportunity_id = created.json()["id"]
    assert created.json()["amount"] == "1250.50"
    updated = sales_client.patch(
        f"/api/opportunities/{opportunity_id}/",
        {"stage": "proposal", "close_date": "2030-01-31"},
        format="json",
    )
    assert updated.status_code == 200
    assert Opportunity.objects.get(pk=opportunity_id).stage == "proposal"
    assert sales_client.get("/api/opportunities/").json()["count"] == 1
    bad = sales_client.patch(
        f"/api/opportunities/{opportunity_id}/", {"amount": "1e20", "close_date": "31/01/2030"}, format="json"
    )
    assert bad.status_code == 400 and set(bad.json()) == {"amount", "close_date"}


def test_interaction_crud(marketer_client, admin_client_api):
    contact = ContactFactory()
    created = marketer_client.post(
        "/api/interactions/",
        {
            "contact": contact.pk,
            "kind": "page_visit",
            "occurred_at": "2025-05-01T10:00:00+02:00",
            "properties": {"url": "https://example.com/pricing"},
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    interaction = Interaction.objects.get(pk=created.json()["id"])
    assert interaction.occurred_at.isoformat() == "2025-05-01T08:00:00+00:00"
    assert marketer_client.get(f"/api/interactions/{interaction.pk}/").json()["kind"] == "page_visit"
    assert marketer_client.patch(f"/api/interactions/{interaction.pk}/", {"kind": "download"}, format="json")
    assert admin_client_api.delete(f"/api/interactions/{interaction.pk}/").status_code == 204

    bad = marketer_client.post(
        "/api/interactions/",
        {"contact": 987654, "kind": "telepathy", "occurred_at": "yesterday", "properties": [1, 2]},
        format="json",
    )
    assert bad.status_code == 400 and set(bad.json()) == {"contact", "kind", "occurred_at", "properties"}
    nul = marketer_client.post(
        "/api/interactions/",
        {
            "contact": contact.pk,
            "kind": "page_visit",
            "occurred_at": "2025-05-01T10:00:00Z",
            "properties": {"u": "\x00"},
        },
        format="json",
    )
    assert nul.status_code == 400 and "properties" in nul.json()


def test_subscription_list_crud(marketer_client):
    created = marketer_client.post(
        "/api/subscription-lists/", {"name": "Newsletter", "is_public": True}, format="json"
    )
    assert created.status_code == 201
    list_id = created.json()["id"]
    duplicate = marketer_client.post("/api/subscription-lists/", {"name": "Newsletter"}, format="json")
    assert duplicate.status_code == 400 and "name" in duplicate.json()
    assert (
        marketer_client.patch(
            f"/api/subscription-lists/{list_id}/", {"description": "Monthly"}, format="json"
        ).json()["description"]
        == "Monthly"
    )
    assert marketer_client.delete(f"/api/subscription-lists/{list_id}/").status_code == 204
    assert not SubscriptionList.objects.exists()


def test_every_resource_lists_its_records(admin_client_api):
    AccountFactory()
    ContactFactory()
    OrphanLeadFactory()
    OpportunityFactory()  # and its contact
    InteractionFactory()  # and its contact
    SubscriptionListFactory()
    expected = {
        "accounts": 1,
        "contacts": 3,
        "leads": 1,
        "opportunities": 1,
        "interactions": 1,
        "subscription-lists": 1,
    }
    for path, count in expected.items():
        response = admin_client_api.get(f"/api/{path}/")
        assert response.status_code == 200, path
        assert {"next", "previous", "results"} <= set(response.json())
        assert len(response.json()["results"]) == count, path
