"""The sales rep's lead queue, the lead page and its lifecycle actions, the score fragment."""

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db import DatabaseError
from django.urls import reverse

from crm_core.models import Contact, ContactOrigin, LeadStatus, LeadStatusChange, Opportunity
from crm_core.services import lead_link_orphans
from crm_core.tests.factories import (
    AccountFactory,
    ContactFactory,
    InteractionFactory,
    LeadFactory,
    OrphanLeadFactory,
    SalesRepFactory,
)
from leadscoring.tests.factories import PrimaryScoringModelFactory, ScoringRuleFactory

pytestmark = pytest.mark.django_db

QUEUE = reverse("workspace:lead-queue")


def act(client, lead, action, **data):
    return client.post(reverse("workspace:lead-action", args=[lead.pk, action]), data)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def ready(owner, **kwargs):
    kwargs.setdefault("status", LeadStatus.MARKETING_QUALIFIED)
    return LeadFactory(owner=owner, sales_ready=True, **kwargs)


# --- The queue ------------------------------------------------------------------------------------


def test_the_queue_lists_the_reps_own_sales_ready_leads_and_accepted_leads(client, sales_rep):
    other = SalesRepFactory(username="other")
    account = AccountFactory(name="Contoso")
    mine = ready(sales_rep, topic="Mine ready", parent_account=account, score=140, grade="A")
    fresh = ready(sales_rep, topic="Mine new", status=LeadStatus.NEW)
    orphan = OrphanLeadFactory(owner=sales_rep, sales_ready=True, topic="Orphan ready", first_name="Olga")
    accepted = LeadFactory(owner=sales_rep, status=LeadStatus.SALES_ACCEPTED, topic="Mine accepted")
    ready(other, topic="Someone else's")
    LeadFactory(owner=sales_rep, sales_ready=False, status=LeadStatus.NEW, topic="Not ready")
    ready(sales_rep, topic="Already qualified", status=LeadStatus.QUALIFIED)
    ready(sales_rep, topic="Sent back", status=LeadStatus.NURTURE)
    client.force_login(sales_rep)

    page = client.get(QUEUE)
    assert page.status_code == 200
    html = page.content.decode()
    for lead in (mine, fresh, orphan, accepted):
        assert lead.topic in html
    for topic in ("Someone else's", "Not ready", "Already qualified", "Sent back"):
        assert topic not in html
    queue_html, accepted_html = html.split('data-testid="lead-accepted"')
    assert "Mine accepted" in accepted_html and "Mine accepted" not in queue_html
    # newest first
    assert queue_html.index("Orphan ready") < queue_html.index("Mine new") < queue_html.index("Mine ready")
    assert reverse("workspace:contact-detail", args=[mine.parent_contact_id]) in html
    assert reverse("workspace:account-detail", args=[account.pk]) in html
    assert "orphan lead" in queue_html and ">140<" in html and ">A<" in html
    assert 'data-testid="action-accept"' in queue_html and 'data-testid="action-accept"' not in accepted_html
    assert 'data-testid="action-qualify"' in accepted_html


def test_the_queue_shows_the_contact_badges(client, sales_rep):
    contact = ContactFactory(marketing_only=True, origin=ContactOrigin.ORPHAN_LEAD_WORKFLOW)
    ready(sales_rep, parent_contact=contact)
    client.force_login(sales_rep)
    html = client.get(QUEUE).content.decode()
    assert "marketing-only" in html and "from orphan lead" in html


def test_the_queue_pages_by_keyset(client, sales_rep):
    leads = [ready(sales_rep, topic=f"Topic {n:02d}") for n in range(30)]
    client.force_login(sales_rep)
    first = client.get(QUEUE)
    assert first.context["queue"].next_link and not first.context["queue"].previous_link
    assert [lead.pk for lead in first.context["queue"].rows] == [lead.pk for lead in leads[::-1][:25]]
    second = client.get(QUEUE + first.context["queue"].next_link)
    assert [lead.pk for lead in second.context["queue"].rows] == [lead.pk for lead in leads[::-1][25:]]
    assert second.context["queue"].previous_link and not second.context["queue"].next_link
    assert client.get(QUEUE + "?cursor=garbage").status_code == 400


@pytest.mark.parametrize("rows", [3, 30])
def test_the_queue_costs_a_fixed_number_of_queries(client, sales_rep, django_assert_num_queries, rows):
    account = AccountFactory()
    from leadscoring.tests.factories import PrimaryScoringModelFactory, ScoringRuleFactory
    from sales.services import task_create

    ScoringRuleFactory(model=PrimaryScoringModelFactory())
    for n in range(rows):
        lead = ready(sales_rep, parent_account=account if n % 2 else None)
        task_create(actor=sales_rep, title=f"Call {n}", lead=lead)
        LeadFactory(owner=sales_rep, status=LeadStatus.SALES_ACCEPTED, parent_contact__parent_account=account)
        OrphanLeadFactory(owner=sales_rep, sales_ready=True)
    client.force_login(sales_rep)
    # session, user, roles, user + group permissions, the queue page, the accepted page; the last
    # visit (read, update, insert the first time) and its session copy (3); in a savepoint (2) the
    # primary scoring model, its rules and one explanation query for the whole page; the rows' open
    # tasks; the rep's open tasks (with their records and owner)
    with django_assert_num_queries(20):
        assert client.get(QUEUE).status_code == 200


# --- Actions --------------------------------------------------------------------------------------


def test_accept_then_qualify_creates_the_opportunity_and_clears_marketing_only(client, sales_rep):
    contact = ContactFactory(marketing_only=True, origin=ContactOrigin.ORPHAN_LEAD_WORKFLOW)
    lead = ready(sales_rep, parent_contact=contact, topic="Data Platform Demo")
    client.force_login(sales_rep)

    response = act(client, lead, "accept", next=QUEUE)
    assert response.status_code == 302 and response["Location"] == QUEUE
    assert messages_of(response) == ["Lead accepted."]
    lead.refresh_from_db()
    assert lead.status == LeadStatus.SALES_ACCEPTED

    response = act(client, lead, "qualify", opportunity_name="Big deal", amount="1200.50", reason="Budget ok")
    assert response.status_code == 302
    assert response["Location"] == reverse("workspace:lead-detail", args=[lead.pk])
    lead.refresh_from_db()
    contact.refresh_from_db()
    opportunity = Opportunity.objects.get(originating_lead=lead)
    assert lead.status == LeadStatus.QUALIFIED and not contact.marketing_only
    assert (opportunity.name, opportunity.amount, opportunity.contact) == (
        "Big deal",
        Decimal("1200.50"),
        contact,
    )
    changes = list(
        LeadStatusChange.objects.filter(lead=lead).order_by("id").values_list("to_status", "actor")
    )
    assert changes == [(LeadStatus.SALES_ACCEPTED, sales_rep.pk), (LeadStatus.QUALIFIED, sales_rep.pk)]
    assert "Big deal" in messages_of(response)[-1]


def test_qualifying_an_orphan_lead_gives_it_a_contact(client, sales_rep):
    lead = OrphanLeadFactory(owner=sales_rep, sales_ready=True, email="olga@example.com")
    client.force_login(sales_rep)
    assert act(client, lead, "qualify").status_code == 302
    lead.refresh_from_db()
    assert lead.status == LeadStatus.QUALIFIED
    assert lead.parent_contact.email == "olga@example.com" and not lead.parent_contact.marketing_only


@pytest.mark.parametrize(
    ("action", "status"),
    [("disqualify", LeadStatus.DISQUALIFIED), ("return-to-marketing", LeadStatus.NURTURE)],
)
def test_disqualify_and_return_record_the_reason(client, sales_rep, action, status):
    lead = ready(sales_rep)
    client.force_login(sales_rep)
    assert act(client, lead, action, reason="No budget this year").status_code == 302
    lead.refresh_from_db()
    assert lead.status == status
    assert LeadStatusChange.objects.get(lead=lead).reason == "No budget this year"


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (LeadStatus.QUALIFIED, "qualify"),
        (LeadStatus.QUALIFIED, "disqualify"),
        (LeadStatus.DISQUALIFIED, "accept"),
        (LeadStatus.SALES_ACCEPTED, "accept"),
        (LeadStatus.NURTURE, "return-to-marketing"),
    ],
)
def test_an_illegal_transition_is_a_400_with_a_message_and_changes_nothing(client, sales_rep, status, action):
    contact = ContactFactory(marketing_only=True)
    lead = ready(sales_rep, status=status, parent_contact=contact)
    client.force_login(sales_rep)
    response = act(client, lead, action, reason="x")
    assert response.status_code == 400
    assert any(m.startswith("Cannot ") for m in messages_of(response))
    assert b"Cannot " in response.content  # shown on the lead page
    lead.refresh_from_db()
    contact.refresh_from_db()
    assert lead.status == status and contact.marketing_only
    assert not LeadStatusChange.objects.exists() and not Opportunity.objects.exists()


def test_an_invalid_qualify_form_is_a_400_and_changes_nothing(client, sales_rep):
    lead = ready(sales_rep)
    client.force_login(sales_rep)
    for data in ({"amount": "-5"}, {"amount": "lots"}, {"close_date": "31/31/2025"}, {"reason": "x" * 2001}):
        response = act(client, lead, "qualify", **data)
        assert response.status_code == 400, data
    lead.refresh_from_db()
    assert lead.status == LeadStatus.MARKETING_QUALIFIED and not Opportunity.objects.exists()


def test_who_may_act(client, sales_rep, marketer, admin_user):
    other = SalesRepFactory(username="other")
    theirs = ready(other)
    unowned = LeadFactory(owner=None, status=LeadStatus.NEW)
    mine = ready(sales_rep)

    client.force_login(marketer)
    assert act(client, mine, "accept").status_code == 403
    assert b"action-accept" not in client.get(reverse("workspace:lead-detail", args=[mine.pk])).content

    client.force_login(sales_rep)
    assert act(client, theirs, "accept").status_code == 403
    assert b"action-accept" not in client.get(reverse("workspace:lead-detail", args=[theirs.pk])).content
    assert act(client, unowned, "accept").status_code == 302
    unowned.refresh_from_db()
    assert unowned.owner == sales_rep  # accepting an unowned lead makes it the rep's

    client.force_login(admin_user)
    assert act(client, theirs, "disqualify").status_code == 302
    theirs.refresh_from_db()
    assert theirs.status == LeadStatus.DISQUALIFIED
    assert LeadStatusChange.objects.filter(lead=mine).count() == 0

    assert client.get(reverse("workspace:lead-action", args=[mine.pk, "accept"])).status_code == 405
    assert act(client, mine, "promote").status_code == 404
    assert client.post(reverse("workspace:lead-action", args=[999_999, "accept"])).status_code == 404

    client.logout()
    response = act(client, mine, "accept")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    mine.refresh_from_db()
    assert mine.status == LeadStatus.MARKETING_QUALIFIED


def test_next_must_stay_on_this_site(client, sales_rep):
    lead = ready(sales_rep)
    client.force_login(sales_rep)
    response = act(client, lead, "accept", next="https://evil.example/")
    assert response["Location"] == reverse("workspace:lead-detail", args=[lead.pk])


# --- The lead page and the score fragment ---------------------------------------------------------


@pytest.fixture
def scored_lead(sales_rep):
    model = PrimaryScoringModelFactory(name="Default")
    ScoringRuleFactory(model=model, name="Opened an email", interaction_kind="email_open", points=10)
    ScoringRuleFactory(model=model, name="Visited a page", interaction_kind="page_visit", points=20)
    lead = ready(sales_rep, topic="Contoso Ltd Conference", score=40)
    for _ in range(2):
        InteractionFactory(contact=lead.parent_contact, kind="email_open")
    InteractionFactory(contact=lead.parent_contact, kind="page_visit", properties={"url": "/pricing"})
    return lead


def test_the_lead_page_shows_fields_history_explanation_and_actions(client, sales_rep, scored_lead):
    client.force_login(sales_rep)
    act(client, scored_lead, "accept", reason="Looks good")
    page = client.get(reverse("workspace:lead-detail", args=[scored_lead.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Contoso Ltd Conference" in html and scored_lead.email in html
    assert "Marketing qualified &rarr; Sales accepted" in html and "Looks good" in html and "by rep" in html
    assert "Opened an email" in html and "Visited a page" in html
    assert 'data-testid="score-total">40<' in html
    assert 'data-testid="action-qualify"' in html and 'data-testid="action-accept"' not in html
    assert client.get(reverse("workspace:lead-detail", args=[999_999])).status_code == 404


def test_the_score_fragment_lists_rule_count_points_and_total(client, marketer, scored_lead):
    client.force_login(marketer)
    response = client.get(reverse("workspace:lead-score", args=[scored_lead.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and "<nav" not in html
    assert "<td>Opened an email</td><td>2</td><td>20</td>" in html
    assert "<td>Visited a page</td><td>1</td><td>20</td>" in html
    assert 'data-testid="score-total">40<' in html


def test_the_score_fragment_without_a_primary_model_or_when_the_database_cannot_explain(
    client, marketer, monkeypatch
):
    lead = LeadFactory()
    client.force_login(marketer)
    url = reverse("workspace:lead-score", args=[lead.pk])
    assert b"No primary scoring model" in client.get(url).content
    PrimaryScoringModelFactory()

    def fails(**kwargs):
        raise DatabaseError("no such function: strpos")

    monkeypatch.setattr("leadscoring.services.lead_score_explain", fails)
    response = client.get(url)
    assert response.status_code == 200 and b"not available on this database" in response.content
    # the request's transaction is still usable after the failure
    assert client.get(reverse("workspace:lead-detail", args=[lead.pk])).status_code == 200


def test_the_orphan_workflow_contact_shows_on_the_lead_page(client, sales_rep):
    lead = OrphanLeadFactory(owner=sales_rep, sales_ready=True, email="new.person@example.com")
    lead_link_orphans()
    contact = Contact.objects.get(email="new.person@example.com")
    client.force_login(sales_rep)
    html = client.get(reverse("workspace:lead-detail", args=[lead.pk])).content.decode()
    assert reverse("workspace:contact-detail", args=[contact.pk]) in html and "marketing-only" in html
