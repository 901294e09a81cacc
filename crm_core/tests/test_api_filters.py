"""Every filter of every CRM resource: it keeps the matching record and drops the other one.

Each case makes two records that differ in the filtered field and asks for one of them.
"""

import datetime as dt

import pytest
from django.utils import timezone

from crm_core.models import Contact, Interaction, Lead
from crm_core.tests.factories import (
    AccountFactory,
    ContactFactory,
    InteractionFactory,
    LeadFactory,
    OpportunityFactory,
    OrphanLeadFactory,
    SubscriptionListFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - dt.timedelta(days=400)


def _age(model, obj, when):
    """Move a record's created_at/updated_at (auto fields) into the past."""
    model.objects.filter(pk=obj.pk).update(created_at=when, updated_at=when)


def _pair(factory, field, wanted, other, **extra):
    return factory(**{field: wanted}, **extra), factory(**{field: other}, **extra)


def result_ids(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


# (query string, factory kwargs of the record that matches, of the one that does not)
CONTACT_CASES = [
    ("email=Match@Example.com", {"email": "match@example.com"}, {"email": "other@example.com"}),
    ("first_name=Ada", {"first_name": "Ada"}, {"first_name": "Bob"}),
    ("last_name=Lovelace", {"last_name": "Lovelace"}, {"last_name": "Babbage"}),
    ("job_role=decision_maker", {"job_role": "decision_maker"}, {"job_role": "end_user"}),
    ("country=France", {"country": "France"}, {"country": "Germany"}),
    ("marketing_only=true", {"marketing_only": True}, {"marketing_only": False}),
    ("marketing_only=false", {"marketing_only": False}, {"marketing_only": True}),
    ("origin=import", {"origin": "import"}, {"origin": "manual"}),
    ("do_not_bulk_email=true", {"do_not_bulk_email": True}, {"do_not_bulk_email": False}),
    ("do_not_email=true", {"do_not_email": True}, {"do_not_email": False}),
    ("allow_prefill=true", {"allow_prefill": True}, {"allow_prefill": False}),
    ("track_email=false", {"track_email": False}, {"track_email": True}),
    ("consent_level=5", {"consent_level": 5}, {"consent_level": 1}),
    ("consent_level__gte=4", {"consent_level": 5}, {"consent_level": 1}),
    ("consent_level__lte=2", {"consent_level": 1}, {"consent_level": 5}),
    ("is_minor=true", {"is_minor": True}, {"is_minor": False}),
    ("parent_account__isnull=true", {"parent_account": None}, {"parent_account": "account"}),
    ("parent_account__isnull=false", {"parent_account": "account"}, {"parent_account": None}),
]


def _with_account(values, account):
    return {k: (account if v == "account" else v) for k, v in values.items()}


def test_contact_filters(admin_client_api):
    # One test over all cases (not parametrized): users are slow to make (password hashing).
    account = AccountFactory()
    for query, wanted, other in CONTACT_CASES:
        Contact.objects.all().delete()
        match = ContactFactory(**_with_account(wanted, account))
        ContactFactory(**_with_account(other, account))
        assert result_ids(admin_client_api, f"/api/contacts/?view=marketing&{query}") == {match.pk}, query


def test_contact_fk_date_and_search_filters(admin_client_api):
    account, owner = AccountFactory(), UserFactory()
    match = ContactFactory(parent_account=account, owner=owner, first_name="Grace", last_name="Hopper")
    other = ContactFactory(first_name="Alan", last_name="Turing")
    _age(Contact, other, LONG_AGO)
    since = (timezone.now() - dt.timedelta(days=1)).isoformat()
    for query in (
        f"parent_account={account.pk}",
        f"owner={owner.pk}",
        "created_at__gte=" + since.replace("+", "%2B"),
        "updated_at__gte=" + since.replace("+", "%2B"),
        "search=hopp",
    ):
        assert result_ids(admin_client_api, f"/api/contacts/?{query}") == {match.pk}, query
    before = (LONG_AGO + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert result_ids(admin_client_api, f"/api/contacts/?created_at__lte={before}") == {other.pk}
    assert result_ids(admin_client_api, f"/api/contacts/?updated_at__lte={before}") == {other.pk}


LEAD_CASES = [
    ("topic=Contoso%20Ltd%20Conference", {"topic": "Contoso Ltd Conference"}, {"topic": "Webinar"}),
    ("email=A@Example.com", {"email": "a@example.com"}, {"email": "b@example.com"}),
    ("status=qualified", {"status": "qualified"}, {"status": "new"}),
    ("source=event", {"source": "event"}, {"source": "web"}),
    ("job_role=champion", {"job_role": "champion"}, {"job_role": "end_user"}),
    ("sales_ready=true", {"sales_ready": True}, {"sales_ready": False}),
    ("sales_ready=false", {"sales_ready": False}, {"sales_ready": True}),
    ("score__gte=50", {"score": 80}, {"score": 10}),
    ("score__lte=20", {"score": 10}, {"score": 80}),
    ("grade=A", {"grade": "A"}, {"grade": "C"}),
    ("parent_contact__isnull=true", {"parent_contact": None}, {}),
    ("parent_contact__isnull=false", {}, {"parent_contact": None}),
    ("parent_account__isnull=false", {"parent_account": "account"}, {}),
]


def test_lead_filters(sales_client):
    account = AccountFactory()
    for query, wanted, other in LEAD_CASES:
        Lead.objects.all().delete()
        match = LeadFactory(**_with_account(wanted, account))
        LeadFactory(**_with_account(other, account))
        assert result_ids(sales_client, f"/api/leads/?{query}") == {match.pk}, query


def test_lead_fk_date_and_search_filters(sales_client):
    account, owner = AccountFactory(), UserFactory()
    match = LeadFactory(parent_account=account, owner=owner, company_name="Fabrikam")
    other = OrphanLeadFactory(company_name="Northwind")
    _age(Lead, other, LONG_AGO)
    for query in (
        f"parent_contact={match.parent_contact_id}",
        f"parent_account={account.pk}",
        f"owner={owner.pk}",
        "created_at__gte=" + (timezone.now() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "search=fabrik",
    ):
        assert result_ids(sales_client, f"/api/leads/?{query}") == {match.pk}, query
    # Filters combine: the orphans about one topic that are sales-ready.
    ready = OrphanLeadFactory(topic="Contoso Ltd Conference", sales_ready=True)
    OrphanLeadFactory(topic="Contoso Ltd Conference", sales_ready=False)
    OrphanLeadFactory(topic="Other", sales_ready=True)
    combined = "/api/leads/?parent_contact__isnull=true&topic=Contoso%20Ltd%20Conference&sales_ready=true"
    assert result_ids(sales_client, combined) == {ready.pk}


def test_account_filters(sales_client):
    parent = AccountFactory(name="Parent", employees=50, industry="other", country="Nowhere")
    owner = UserFactory()
    match = AccountFactory(
        name="Contoso Ltd",
        industry="software",
        country="France",
        owner=owner,
        parent_account=parent,
        employees=900,
    )
    other = AccountFactory(name="Fabrikam", industry="retail", country="Spain", employees=5)
    for query in (
        "name=Contoso%20Ltd",
        "name__icontains=tos",
        "industry=software",
        "country=France",
        f"owner={owner.pk}",
        f"parent_account={parent.pk}",
        "employees__gte=100",
        "search=contoso",
    ):
        assert result_ids(sales_client, f"/api/accounts/?{query}") == {match.pk}, query
    assert result_ids(sales_client, "/api/accounts/?employees__lte=10") == {other.pk}
    assert result_ids(sales_client, "/api/accounts/?parent_account__isnull=false") == {match.pk}
    assert other.pk in result_ids(sales_client, "/api/accounts/?parent_account__isnull=true")


def test_opportunity_filters(sales_client):
    account, owner = AccountFactory(), UserFactory()
    match = OpportunityFactory(
        name="Big deal",
        account=account,
        owner=owner,
        stage="proposal",
        status="won",
        amount=90_000,
        close_date=dt.date(2030, 6, 1),
        originating_lead=LeadFactory(),
    )
    other = OpportunityFactory(
        name="Small deal", stage="prospecting", amount=10, close_date=dt.date(2020, 1, 1)
    )
    for query in (
        f"account={account.pk}",
        f"contact={match.contact_id}",
        f"originating_lead={match.originating_lead_id}",
        f"owner={owner.pk}",
        "stage=proposal",
        "status=won",
        "amount__gte=1000",
        "close_date__gte=2025-01-01",
        "search=big",
    ):
        assert result_ids(sales_client, f"/api/opportunities/?{query}") == {match.pk}, query
    assert result_ids(sales_client, "/api/opportunities/?amount__lte=100") == {other.pk}
    assert result_ids(sales_client, "/api/opportunities/?close_date__lte=2021-01-01") == {other.pk}


def test_interaction_filters(marketer_client):
    contact = ContactFactory()
    match = InteractionFactory(contact=contact, kind="email_click", occurred_at=timezone.now())
    other = InteractionFactory(kind="page_visit", occurred_at=LONG_AGO)
    Interaction.objects.filter(pk=other.pk).update(occurred_at=LONG_AGO)
    since = (timezone.now() - dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for query in (f"contact={contact.pk}", "kind=email_click", f"occurred_at__gte={since}"):
        assert result_ids(marketer_client, f"/api/interactions/?{query}") == {match.pk}, query
    assert result_ids(marketer_client, f"/api/interactions/?occurred_at__lte={since}") == {other.pk}


def test_subscription_list_filters(marketer_client):
    match = SubscriptionListFactory(name="Newsletter", is_public=True)
    other = SubscriptionListFactory(name="Internal", is_public=False)
    assert result_ids(marketer_client, "/api/subscription-lists/?name=Newsletter") == {match.pk}
    assert result_ids(marketer_client, "/api/subscription-lists/?is_public=false") == {other.pk}
    assert result_ids(marketer_client, "/api/subscription-lists/?search=intern") == {other.pk}


BAD_QUERIES = [
    "marketing_only=perhaps",
    "job_role=astronaut",
    "consent_level__gte=high",
    "created_at__gte=yesterday",
    "created_at__gte=0001-01-01T00:00:00%2B23:00",
    "parent_account=abc",
    "parent_account=999999999",
    "parent_account__isnull=maybe",
    "owner=99999999999999999999999",
    "ordering=email",
    "ordering=-id,last_name",
    "view=everyone",
    "search=%00",
    "email=%00",
    "cursor=not-a-cursor",
]


def test_bad_filter_values_are_4xx_naming_the_parameter(admin_client_api):
    ContactFactory()
    for query in BAD_QUERIES:
        response = admin_client_api.get(f"/api/contacts/?{query}")
        if query.startswith("cursor="):
            assert response.status_code == 404 and response.json() == {"detail": "Invalid cursor."}
        else:
            assert response.status_code == 400, (query, response.content)
            assert query.split("=")[0] in response.json(), query
