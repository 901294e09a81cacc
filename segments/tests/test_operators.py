"""Every operator on every field type, on PostgreSQL, including the NULL/empty rules of the contract."""

import datetime as dt

import pytest
from django.utils import timezone

from crm_core.models import Contact, JobRole, Lead, ListMembership
from crm_core.tests.factories import (
    AccountFactory,
    ContactFactory,
    LeadFactory,
    ListMembershipFactory,
    OpportunityFactory,
)
from segments.compiler import compile_definition, contacts_queryset
from segments.examples import CONTOSO_DECISION_MAKERS

pytestmark = pytest.mark.django_db

TODAY = dt.date.today()


def days_ago(n: int) -> str:
    return (timezone.localdate() - dt.timedelta(days=n)).isoformat()


@pytest.fixture
def people():
    now = timezone.now()
    software = AccountFactory(name="Contoso", industry="software", country="Germany", employees=None)
    ada = ContactFactory(
        first_name="ada",
        email="A@X.com",
        city="Berlin",
        country="Germany",
        job_role=JobRole.DECISION_MAKER,
        consent_level=3,
        parent_account=software,
    )
    bob = ContactFactory(
        first_name="bob",
        email="b@y.org",
        city="",
        country="GERMANY",
        job_role="",
        consent_level=0,
        do_not_bulk_email=True,
    )
    cyd = ContactFactory(
        first_name="cyd",
        email=None,
        city="Paris",
        country="France",
        job_role=JobRole.INFLUENCER,
        consent_level=5,
    )
    for contact, age in ((ada, 10), (bob, 40), (cyd, 1)):
        Contact.objects.filter(pk=contact.pk).update(created_at=now - dt.timedelta(days=age))
    LeadFactory(parent_contact=ada, topic="Contoso Ltd Conference", estimated_value=None)
    LeadFactory(parent_contact=ada, topic="contoso ltd conference", estimated_value=500)
    LeadFactory(parent_contact=bob, topic="Data Platform Demo", estimated_value=100)
    ListMembershipFactory(contact=ada, unsubscribed_at=None)
    ListMembershipFactory(contact=bob, unsubscribed_at=now - dt.timedelta(days=60))
    ListMembershipFactory(contact=cyd, unsubscribed_at=now - dt.timedelta(days=3))
    OpportunityFactory(contact=cyd, close_date=TODAY + dt.timedelta(days=5))
    OpportunityFactory(contact=bob, close_date=None)
    return {"ada": ada, "bob": bob, "cyd": cyd}


def names(definition) -> set[str]:
    return set(contacts_queryset(definition).values_list("first_name", flat=True))


def contact_rule(field, op, value=None):
    node = {"field": field, "op": op}
    if value is not None:
        node["value"] = value
    return {"entity": "contact", "match": "all", "conditions": [node]}


def related_rule(related, field, op, value=None):
    node = {"field": field, "op": op}
    if value is not None:
        node["value"] = value
    return {
        "entity": "contact",
        "conditions": [{"related": related, "quantifier": "exists", "conditions": [node]}],
    }


CONTACT_CASES = [
    # text (case-insensitive; empty = NULL or "")
    ("email", "eq", "a@x.COM", {"ada"}),
    ("email", "neq", "a@x.com", {"bob", "cyd"}),
    ("email", "contains", "X.CO", {"ada"}),
    ("email", "not_contains", "x.co", {"bob", "cyd"}),
    ("email", "starts_with", "A@", {"ada"}),
    ("email", "ends_with", ".ORG", {"bob"}),
    ("email", "in", ["A@x.com", "nobody@z.com"], {"ada"}),
    ("email", "not_in", ["a@x.com"], {"bob", "cyd"}),
    ("email", "is_empty", None, {"cyd"}),
    ("email", "is_not_empty", None, {"ada", "bob"}),
    ("city", "is_empty", None, {"bob"}),
    ("city", "neq", "berlin", {"bob", "cyd"}),
    ("city", "not_contains", "ar", {"ada", "bob"}),
    ("country", "eq", "germany", {"ada", "bob"}),
    ("country", "in", ["GERMANY"], {"ada", "bob"}),
    ("country", "not_in", ["germany"], {"cyd"}),
    # choice
    ("job_role", "eq", "decision_maker", {"ada"}),
    ("job_role", "neq", "decision_maker", {"bob", "cyd"}),
    ("job_role", "in", ["influencer", "champion"], {"cyd"}),
    ("job_role", "not_in", ["influencer"], {"ada", "bob"}),
    ("job_role", "is_empty", None, {"bob"}),
    ("job_role", "is_not_empty", None, {"ada", "cyd"}),
    # number
    ("consent_level", "eq", 3, {"ada"}),
    ("consent_level", "neq", 3, {"bob", "cyd"}),
    ("consent_level", "gt", 3, {"cyd"}),
    ("consent_level", "gte", 3, {"ada", "cyd"}),
    ("consent_level", "lt", 3, {"bob"}),
    ("consent_level", "lte", 3, {"ada", "bob"}),
    ("consent_level", "between", [1, 4], {"ada"}),
    ("consent_level", "in", [0, 5], {"bob", "cyd"}),
    ("consent_level", "is_empty", None, set()),
    ("consent_level", "is_not_empty", None, {"ada", "bob", "cyd"}),
    # boolean
    ("do_not_bulk_email", "eq", True, {"bob"}),
    ("do_not_bulk_email", "eq", False, {"ada", "cyd"}),
    # datetime (days in the project's time zone)
    ("created_at", "in_last_days", 30, {"ada", "cyd"}),
    ("created_at", "not_in_last_days", 30, {"bob"}),
    ("created_at", "in_next_days", 5, set()),
    ("created_at", "on", days_ago(10), {"ada"}),
    ("created_at", "before", days_ago(20), {"bob"}),
    ("created_at", "after", days_ago(20), {"ada", "cyd"}),
    ("created_at", "on_or_before", days_ago(10), {"ada", "bob"}),
    ("created_at", "on_or_after", days_ago(10), {"ada", "cyd"}),
    ("created_at", "between", [days_ago(11), days_ago(9)], {"ada"}),
    ("created_at", "is_empty", None, set()),
    ("created_at", "is_not_empty", None, {"ada", "bob", "cyd"}),
]


@pytest.mark.parametrize(("field", "op", "value", "expected"), CONTACT_CASES)
def test_contact_field_operators(people, field, op, value, expected):
    assert names(contact_rule(field, op, value)) == expected


RELATED_CASES = [
    # datetime with NULLs: subscriptions.unsubscribed_at (ada NULL, bob 60 days ago, cyd 3 days ago)
    ("subscriptions", "unsubscribed_at", "is_empty", None, {"ada"}),
    ("subscriptions", "unsubscribed_at", "in_last_days", 30, {"cyd"}),
    ("subscriptions", "unsubscribed_at", "not_in_last_days", 30, {"ada", "bob"}),
    ("subscriptions", "unsubscribed_at", "before", days_ago(30), {"bob"}),
    # date: opportunities.close_date (cyd in 5 days, bob NULL)
    ("opportunities", "close_date", "in_next_days", 10, {"cyd"}),
    ("opportunities", "close_date", "in_last_days", 10, set()),
    ("opportunities", "close_date", "on", (TODAY + dt.timedelta(days=5)).isoformat(), {"cyd"}),
    ("opportunities", "close_date", "is_empty", None, {"bob"}),
    ("opportunities", "close_date", "after", TODAY.isoformat(), {"cyd"}),
    # number with NULLs: leads.estimated_value (ada: NULL and 500, bob: 100)
    ("leads", "estimated_value", "is_empty", None, {"ada"}),
    ("leads", "estimated_value", "neq", 100, {"ada"}),
    ("leads", "estimated_value", "gte", 100, {"ada", "bob"}),
    # text through a to-one relationship
    ("account", "name", "eq", "CONTOSO", {"ada"}),
    ("account", "industry", "eq", "software", {"ada"}),
    ("account", "employees", "is_empty", None, {"ada"}),
]


@pytest.mark.parametrize(("related", "field", "op", "value", "expected"), RELATED_CASES)
def test_related_field_operators(people, related, field, op, value, expected):
    assert names(related_rule(related, field, op, value)) == expected


def test_seed_example_decision_makers_among_contoso_leads(people):
    definition = CONTOSO_DECISION_MAKERS
    assert names(definition) == {"ada"}
    sql = str(contacts_queryset(definition).query).upper()
    assert "EXISTS" in sql and sql.count("SELECT") == 2  # one statement, one subquery


def test_quantifiers_and_negation(people):
    contoso = [{"field": "topic", "op": "eq", "value": "contoso ltd conference"}]
    base = {"related": "leads", "conditions": contoso}
    assert names({"entity": "contact", "conditions": [{**base, "quantifier": "not_exists"}]}) == {
        "bob",
        "cyd",
    }
    for op, value, expected in (
        ("gte", 2, {"ada"}),
        ("eq", 0, {"bob", "cyd"}),
        ("lt", 1, {"bob", "cyd"}),
        ("gt", 1, {"ada"}),
        ("lte", 1, {"bob", "cyd"}),
    ):
        node = {**base, "quantifier": "count", "count": {"op": op, "value": value}}
        assert names({"entity": "contact", "conditions": [node]}) == expected, (op, value)
    negated = {"entity": "contact", "conditions": [{**base, "quantifier": "exists", "negate": True}]}
    assert names(negated) == {"bob", "cyd"}
    # negate is plain NOT: "not (role is decision maker)" equals "role neq decision maker" here
    assert names(
        {
            "entity": "contact",
            "conditions": [{"field": "job_role", "op": "eq", "value": "decision_maker", "negate": True}],
        }
    ) == {"bob", "cyd"}


def test_negating_the_root_group(people):
    germans = {"entity": "contact", "conditions": [{"field": "country", "op": "eq", "value": "germany"}]}
    assert names({**germans, "negate": True}) == {"cyd"}
    assert names({"entity": "contact", "conditions": [], "negate": True}) == set()


def test_groups_empty_any_and_nesting(people):
    assert names({"entity": "contact", "match": "all", "conditions": []}) == {"ada", "bob", "cyd"}
    assert names({"entity": "contact", "match": "any", "conditions": []}) == {"ada", "bob", "cyd"}
    assert (
        names({"entity": "contact", "conditions": [{"match": "any", "conditions": [], "negate": True}]})
        == set()
    )
    nested = {
        "entity": "contact",
        "match": "any",
        "conditions": [
            {"field": "country", "op": "eq", "value": "France"},
            {
                "match": "all",
                "conditions": [
                    {"field": "consent_level", "op": "eq", "value": 0},
                    {"field": "do_not_bulk_email", "op": "eq", "value": True},
                ],
            },
        ],
    }
    assert names(nested) == {"bob", "cyd"}


def test_account_rooted_definition_selects_the_accounts_contacts(people):
    other = ContactFactory(first_name="eve", parent_account=people["ada"].parent_account)
    definition = {"entity": "account", "conditions": [{"field": "industry", "op": "eq", "value": "software"}]}
    assert names(definition) == {"ada", other.first_name}


def test_lead_root_compiles_to_a_filter_over_leads(people):
    q = compile_definition(
        {
            "match": "all",
            "conditions": [
                {"field": "topic", "op": "eq", "value": "CONTOSO LTD CONFERENCE"},
                {
                    "related": "parent_contact",
                    "conditions": [{"field": "job_role", "op": "eq", "value": "decision_maker"}],
                },
            ],
        },
        root="lead",
    )
    assert Lead.objects.filter(q).count() == 2


def test_in_segment_reads_stored_membership(people):
    from segments.services import segment_create, segment_refresh

    germans = segment_create(name="Germans", definition=contact_rule("country", "eq", "germany"))
    segment_refresh(segment_id=germans.pk)
    assert names({"entity": "contact", "conditions": [{"in_segment": germans.pk}]}) == {"ada", "bob"}
    assert names({"entity": "contact", "conditions": [{"in_segment": germans.pk, "negate": True}]}) == {"cyd"}
    assert ListMembership.objects.count() == 3
