"""Lead lifecycle: services and the REST actions on /api/leads/{id}/."""

from decimal import Decimal

import pytest

from crm_core import services
from crm_core.models import Contact, Lead, LeadStatus, LeadStatusChange, Opportunity
from crm_core.selectors import lead_status_history
from crm_core.tests.factories import AccountFactory, ContactFactory, LeadFactory, OrphanLeadFactory

pytestmark = pytest.mark.django_db

S = LeadStatus
ALL_STATUSES = [s.value for s in LeadStatus]
# The allowed moves, written out independently of the service's table.
ALLOWED = {
    "accept": {S.NEW, S.MARKETING_QUALIFIED},
    "qualify": {S.NEW, S.MARKETING_QUALIFIED, S.SALES_ACCEPTED},
    "disqualify": {S.NEW, S.MARKETING_QUALIFIED, S.SALES_ACCEPTED, S.NURTURE},
    "return-to-marketing": {S.NEW, S.MARKETING_QUALIFIED, S.SALES_ACCEPTED},
}
TARGET = {
    "accept": S.SALES_ACCEPTED,
    "qualify": S.QUALIFIED,
    "disqualify": S.DISQUALIFIED,
    "return-to-marketing": S.NURTURE,
}


def url(lead, action: str) -> str:
    return f"/api/leads/{lead.pk}/{action}/"


@pytest.mark.parametrize("action", list(ALLOWED))
@pytest.mark.parametrize("start", ALL_STATUSES)
def test_every_transition_is_allowed_exactly_from_its_statuses(sales_client, sales_rep, action, start):
    lead = LeadFactory(status=start)
    response = sales_client.post(url(lead, action), {}, format="json")
    lead.refresh_from_db()
    if start in ALLOWED[action]:
        assert response.status_code == 200, response.data
        assert lead.status == TARGET[action] == response.data["status"]
        change = lead_status_history(lead=lead).get()
        assert (change.from_status, change.to_status, change.actor) == (start, TARGET[action], sales_rep)
        assert response.data["status_change"]["id"] == change.pk
    else:
        assert response.status_code == 400
        message = response.data["status"][0]
        assert f"lead that is {LeadStatus(start).label.lower()}" in message
        assert lead.status == start
        assert not LeadStatusChange.objects.filter(lead=lead).exists()
        assert not Opportunity.objects.filter(originating_lead=lead).exists()


def test_qualifying_a_disqualified_lead_is_refused_with_a_message(sales_client):
    lead = LeadFactory(status=S.DISQUALIFIED)
    response = sales_client.post(url(lead, "qualify"), {}, format="json")
    assert response.status_code == 400
    assert response.data == {
        "status": [
            "Cannot qualify a lead that is disqualified; only a lead that is new, marketing qualified, "
            "sales accepted can be moved to qualified."
        ]
    }


def test_qualifying_clears_marketing_only_and_creates_the_opportunity(sales_client, sales_rep):
    account = AccountFactory()
    contact = ContactFactory(marketing_only=True, parent_account=None)
    lead = LeadFactory(
        status=S.SALES_ACCEPTED,
        parent_contact=contact,
        parent_account=account,
        topic="Data Platform Demo",
        company_name="Fabrikam",
        estimated_value=Decimal("1234.00"),
    )
    response = sales_client.post(url(lead, "qualify"), {"reason": "budget confirmed"}, format="json")

    assert response.status_code == 200, response.data
    contact.refresh_from_db()
    assert contact.marketing_only is False
    opportunity = Opportunity.objects.get(originating_lead=lead)
    assert (opportunity.contact, opportunity.account, opportunity.originating_lead) == (
        contact,
        account,
        lead,
    )
    assert opportunity.name == "Data Platform Demo - Fabrikam"
    assert opportunity.amount == Decimal("1234.00")
    assert opportunity.owner == sales_rep  # the lead had no owner
    assert response.data["opportunity"]["id"] == opportunity.pk
    change = lead_status_history(lead=lead).get()
    assert (change.opportunity, change.reason, change.actor) == (opportunity, "budget confirmed", sales_rep)


def test_qualifying_uses_the_contacts_account_and_the_given_details(sales_client):
    account = AccountFactory()
    lead = LeadFactory(
        status=S.NEW, parent_contact=ContactFactory(parent_account=account), parent_account=None
    )
    body = {"opportunity_name": "Big deal", "amount": "50000.00", "close_date": "2030-01-31"}
    response = sales_client.post(url(lead, "qualify"), body, format="json")
    assert response.status_code == 200, response.data
    opportunity = Opportunity.objects.get(originating_lead=lead)
    assert (opportunity.name, opportunity.amount, str(opportunity.close_date)) == (
        "Big deal",
        Decimal("50000.00"),
        "2030-01-31",
    )
    assert opportunity.account == account


def test_qualifying_an_orphan_lead_gives_it_a_sales_contact(sales_client):
    existing = ContactFactory(email="orphan@example.com", marketing_only=True)
    lead = OrphanLeadFactory(email="Orphan@Example.com", status=S.MARKETING_QUALIFIED)
    nameless = OrphanLeadFactory(email=None, status=S.NEW)
    assert sales_client.post(url(lead, "qualify"), {}, format="json").status_code == 200
    assert sales_client.post(url(nameless, "qualify"), {}, format="json").status_code == 200
    lead.refresh_from_db()
    nameless.refresh_from_db()
    assert lead.parent_contact == existing
    assert Contact.objects.get(pk=existing.pk).marketing_only is False
    assert nameless.parent_contact is not None and nameless.parent_contact.marketing_only is False
    assert Opportunity.objects.get(originating_lead=nameless).contact == nameless.parent_contact


def test_accepting_an_unowned_lead_makes_the_rep_its_owner(sales_client, sales_rep):
    lead = LeadFactory(status=S.MARKETING_QUALIFIED, owner=None)
    assert sales_client.post(url(lead, "accept"), {}, format="json").status_code == 200
    lead.refresh_from_db()
    assert lead.owner == sales_rep


def test_return_to_marketing_and_disqualify_record_the_reason(sales_client):
    lead = LeadFactory(status=S.SALES_ACCEPTED)
    response = sales_client.post(url(lead, "return-to-marketing"), {"reason": "not yet"}, format="json")
    assert response.status_code == 200
    assert response.data["status_change"]["reason"] == "not yet"
    response = sales_client.post(url(lead, "disqualify"), {"reason": "no budget"}, format="json")
    assert response.status_code == 200
    assert list(lead_status_history(lead=lead).values_list("to_status", "reason")) == [
        (S.DISQUALIFIED, "no budget"),
        (S.NURTURE, "not yet"),
    ]


def test_admin_may_transition_but_marketing_may_not(admin_client_api, marketer_client):
    lead = LeadFactory(status=S.NEW)
    response = marketer_client.post(url(lead, "accept"), {}, format="json")
    assert response.status_code == 403
    assert "sales and admin" in str(response.data["detail"])
    assert admin_client_api.post(url(lead, "accept"), {}, format="json").status_code == 200


def test_anonymous_gets_401_and_unknown_lead_404(anon_client, sales_client):
    lead = LeadFactory()
    assert anon_client.post(url(lead, "qualify"), {}, format="json").status_code == 401
    assert sales_client.post("/api/leads/999999/qualify/", {}, format="json").status_code == 404


@pytest.mark.parametrize(
    "body",
    [{"colour": "red"}, {"amount": "lots"}, {"amount": "-1"}, {"close_date": "tomorrow"}, ["a"]],
)
def test_bad_bodies_get_400_and_change_nothing(sales_client, body):
    lead = LeadFactory(status=S.NEW)
    response = sales_client.post(url(lead, "qualify"), body, format="json")
    assert response.status_code == 400
    lead.refresh_from_db()
    assert lead.status == S.NEW and not Opportunity.objects.exists()


def test_malformed_json_is_a_400(sales_client):
    lead = LeadFactory()
    response = sales_client.post(url(lead, "accept"), "{not json", content_type="application/json")
    assert response.status_code == 400


def test_mark_marketing_qualified_by_hand():
    lead = LeadFactory(status=S.NURTURE)
    services.lead_mark_marketing_qualified(lead=lead)
    assert Lead.objects.get(pk=lead.pk).status == S.MARKETING_QUALIFIED
    with pytest.raises(services.LeadTransitionError):
        services.lead_mark_marketing_qualified(lead=LeadFactory(status=S.QUALIFIED))
