"""Export and erasure of a contact: service, admin-only API and admin actions, all audited."""

import json

import pytest

from crm_core.models import (
    AuditLog,
    ConsentChange,
    Contact,
    EventRegistration,
    Interaction,
    Lead,
    ListMembership,
    Opportunity,
)
from crm_core.privacy import contact_erase, contact_export
from crm_core.tests.factories import (
    AccountFactory,
    ContactFactory,
    EventRegistrationFactory,
    InteractionFactory,
    LeadFactory,
    ListMembershipFactory,
    OpportunityFactory,
    OrphanLeadFactory,
    SalesRepFactory,
)
from crm_core.tokens import PURPOSE_PREFILL, contact_token_make
from landing.models import FormSubmission
from landing.tests.factories import LandingPageFactory
from landing.tests.utils import submit
from sales import services as sales_services
from sales.models import Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(web_client, settings):
    settings.LANDING_RATE_LIMIT = "100000/minute"  # counters persist in Redis between runs
    contact = ContactFactory(
        email="erase.me@example.com",
        first_name="Erin",
        last_name="Rase",
        phone="+49 1",
        parent_account=AccountFactory(),
        consent_level=1,
    )
    LeadFactory(
        parent_contact=contact, topic="Another topic", first_name="Erin", email="erase.me@example.com"
    )
    OrphanLeadFactory(email="erase.me@example.com", first_name="Erin")
    InteractionFactory.create_batch(3, contact=contact)
    ListMembershipFactory(contact=contact)
    EventRegistrationFactory(contact=contact)
    OpportunityFactory(contact=contact)
    ward = ContactFactory(is_minor=True, guardian=contact, guardian_consent=True)
    rep = SalesRepFactory()
    sales_services.activity_log(
        actor=rep, kind="call", subject="Called Erin", body="Erin wants a demo", contact=contact
    )
    sales_services.task_create(
        actor=rep, title="Send Erin the deck", description="to erase.me@example.com", contact=contact
    )
    page = LandingPageFactory()
    response = submit(
        web_client,
        page,
        email="erase.me@example.com",
        first_name="Erin",
        last_name="Rase",
        _consent="on",
        _ct=contact_token_make(
            contact=contact, purpose=PURPOSE_PREFILL
        ),  # identified: consent applies at once
    )
    assert response.status_code == 200
    return contact, ward


@pytest.fixture
def web_client():
    from django.test import Client

    return Client()


def test_export_holds_everything_about_the_contact_and_is_audited(person, admin_user):
    contact, ward = person
    data = contact_export(contact=contact, actor=admin_user)

    assert data["contact"]["email"] == "erase.me@example.com"
    assert data["account"][0]["id"] == contact.parent_account_id
    related = data["related"]
    assert len(related["crm_core.lead"]) == 2  # its own and the one from the form
    assert len(related["crm_core.orphan_lead_with_same_email"]) == 1
    assert len(related["crm_core.interaction"]) == 4  # three plus the form submission
    assert len(related["crm_core.listmembership"]) == 1
    assert len(related["crm_core.eventregistration"]) == 1
    assert len(related["crm_core.opportunity"]) == 1
    assert [w["id"] for w in related["crm_core.ward"]] == [ward.pk]
    assert len(related["crm_core.consentchange"]) == 1
    assert related["landing.formsubmission"][0]["payload"]["email"] == "erase.me@example.com"
    assert [a["subject"] for a in related["sales.activity"]] == ["Called Erin"]
    assert [t["title"] for t in related["sales.task"]] == ["Send Erin the deck"]
    json.dumps(data)  # plain JSON
    audit = AuditLog.objects.get(action="contact.export")
    assert (audit.actor, audit.object_id) == (admin_user, str(contact.pk))


def test_erase_removes_personal_data_keeps_business_records_and_is_audited(person, admin_user):
    contact, ward = person
    done = contact_erase(contact=contact, actor=admin_user)

    contact.refresh_from_db()
    assert (contact.first_name, contact.last_name, contact.email, contact.phone) == ("", "", None, "")
    assert contact.do_not_email and contact.do_not_bulk_email and not contact.track_email
    assert not Interaction.objects.filter(contact=contact).exists()
    assert not ListMembership.objects.filter(contact=contact).exists()
    assert not EventRegistration.objects.filter(contact=contact).exists()
    assert not Lead.objects.filter(email="erase.me@example.com").exists()
    assert not Lead.objects.filter(first_name="Erin").exists()
    assert Lead.objects.filter(parent_contact=contact).count() == 2  # kept, anonymised
    assert Opportunity.objects.filter(contact=contact).exists()
    submission = FormSubmission.objects.get()
    assert submission.payload == {} and submission.ip_address is None
    assert not ConsentChange.objects.filter(contact=contact, ip_address__isnull=False).exists()
    ward.refresh_from_db()
    assert ward.guardian is None and ward.guardian_consent is False
    assert ConsentChange.objects.filter(contact=ward, field="guardian_consent", new_value="False").exists()
    assert done["interactions_deleted"] == 4 and done["leads_anonymised"] == 3
    assert (done["activities_deleted"], done["task_descriptions_erased"]) == (1, 1)
    assert Task.objects.get().description == ""
    audit = AuditLog.objects.get(action="contact.erase")
    assert audit.actor == admin_user and audit.details == done
    assert "erase.me" not in json.dumps(audit.details)
    assert not Contact.objects.filter(email="erase.me@example.com").exists()


def test_the_api_lets_only_admins_export_and_erase(person, admin_client_api, marketer_client, anon_client):
    contact, _ = person
    export_url, erase_url = f"/api/contacts/{contact.pk}/export/", f"/api/contacts/{contact.pk}/erase/"

    assert anon_client.get(export_url).status_code == 401
    assert marketer_client.get(export_url).status_code == 403
    assert marketer_client.post(erase_url, {"confirm": True}, format="json").status_code == 403
    assert admin_client_api.get("/api/contacts/999999999/export/").status_code == 404

    response = admin_client_api.get(export_url)
    assert response.status_code == 200
    assert response.json()["contact"]["email"] == "erase.me@example.com"

    response = admin_client_api.post(erase_url, {}, format="json")
    assert response.status_code == 400 and "confirm" in response.json()
    assert admin_client_api.post(erase_url, {"confirm": False}, format="json").status_code == 400
    contact.refresh_from_db()
    assert contact.email == "erase.me@example.com"

    response = admin_client_api.post(erase_url, {"confirm": True}, format="json")
    assert response.status_code == 200
    assert response.json()["erased"]["interactions_deleted"] == 4
    contact.refresh_from_db()
    assert contact.email is None
    assert list(AuditLog.objects.order_by("id").values_list("action", flat=True)) == [
        "contact.export",
        "contact.erase",
    ]


def test_admin_actions_export_and_erase_with_confirmation(person, admin_user, client):
    contact, _ = person
    client.force_login(admin_user)
    url = "/admin/crm_core/contact/"

    response = client.post(url, {"action": "export_personal_data", "_selected_action": [contact.pk]})
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert json.loads(response.content)[0]["contact"]["id"] == contact.pk

    response = client.post(url, {"action": "erase_personal_data", "_selected_action": [contact.pk]})
    assert response.status_code == 200 and b"cannot be undone" in response.content
    contact.refresh_from_db()
    assert contact.email == "erase.me@example.com"  # not yet: only the confirmation page

    response = client.post(
        url, {"action": "erase_personal_data", "_selected_action": [contact.pk], "confirmed": "yes"}
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.email is None
    assert AuditLog.objects.filter(action="contact.erase", actor=admin_user).exists()


def test_marketers_do_not_get_the_privacy_actions_in_admin(marketer, client):
    marketer.is_staff = True
    marketer.save()
    client.force_login(marketer)
    response = client.get("/admin/crm_core/contact/")
    assert response.status_code == 200
    assert b"erase_personal_data" not in response.content
