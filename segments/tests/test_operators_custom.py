"""Every operator on every custom field type, with the NULL/empty rules of the built-in fields of the
same type, on PostgreSQL (its containment path and the portable one) and, in a subprocess, on SQLite.

ada, bob and cyd carry the custom values; each case names the contacts it must select. Empty values
(a missing key, "", [] or JSON null) are empty everywhere, the negative operators match them, and
`negate` is plain NOT, also on empty values.
"""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from conftest import rerun_on_sqlite
from crm_core.models import Contact
from crm_core.services import custom_field_create
from crm_core.sqlpath import portable_path
from crm_core.tests.factories import AccountFactory, ContactFactory, LeadFactory
from segments.compiler import contacts_queryset, validate_definition

pytestmark = pytest.mark.django_db


def day(n: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=n)).isoformat()


@pytest.fixture
def people():
    for key, kind, choices in (
        ("nick", "text", []),
        ("tier", "choice", ["gold", "silver", "bronze"]),
        ("seats", "number", []),
        ("vip", "boolean", []),
        ("renewal", "date", []),
        ("tools", "multi_choice", ["crm", "erp", "bi"]),
    ):
        custom_field_create(entity="contact", key=key, label=key.title(), field_type=kind, choices=choices)
    custom_field_create(entity="lead", key="budget", label="Budget", field_type="number")
    custom_field_create(entity="account", key="region", label="Region", field_type="text")
    emea = AccountFactory(custom={"region": "EMEA"})
    ada = ContactFactory(
        first_name="ada",
        parent_account=emea,
        custom={
            "nick": "Ace",
            "tier": "gold",
            "seats": 10,
            "vip": True,
            "renewal": day(-10),
            "tools": ["crm", "erp"],
        },
    )
    bob = ContactFactory(
        first_name="bob", custom={"nick": "", "seats": 2.5, "vip": False, "renewal": day(5), "tools": []}
    )
    cyd = ContactFactory(
        first_name="cyd", custom={"tier": "silver", "seats": 0, "tools": ["bi"], "nick": None}
    )
    LeadFactory(parent_contact=ada, custom={"budget": 500})
    LeadFactory(parent_contact=bob, custom={})
    return {"ada": ada, "bob": bob, "cyd": cyd}


CASES = [
    # text: case-insensitive; empty = missing, "" or null (bob "", cyd null)
    ("custom.nick", "eq", "ACE", {"ada"}),
    ("custom.nick", "neq", "ace", {"bob", "cyd"}),
    ("custom.nick", "contains", "C", {"ada"}),
    ("custom.nick", "not_contains", "c", {"bob", "cyd"}),
    ("custom.nick", "starts_with", "a", {"ada"}),
    ("custom.nick", "ends_with", "CE", {"ada"}),
    ("custom.nick", "in", ["ace", "zed"], {"ada"}),
    ("custom.nick", "not_in", ["ACE"], {"bob", "cyd"}),
    ("custom.nick", "is_empty", None, {"bob", "cyd"}),
    ("custom.nick", "is_not_empty", None, {"ada"}),
    # choice (bob: no key)
    ("custom.tier", "eq", "gold", {"ada"}),
    ("custom.tier", "neq", "gold", {"bob", "cyd"}),
    ("custom.tier", "in", ["silver", "bronze"], {"cyd"}),
    ("custom.tier", "not_in", ["silver"], {"ada", "bob"}),
    ("custom.tier", "is_empty", None, {"bob"}),
    ("custom.tier", "is_not_empty", None, {"ada", "cyd"}),
    # number (ada 10, bob 2.5, cyd 0)
    ("custom.seats", "eq", 10, {"ada"}),
    ("custom.seats", "eq", 2.5, {"bob"}),
    ("custom.seats", "neq", 10, {"bob", "cyd"}),
    ("custom.seats", "gt", 2.5, {"ada"}),
    ("custom.seats", "gte", 2.5, {"ada", "bob"}),
    ("custom.seats", "lt", 2.5, {"cyd"}),
    ("custom.seats", "lte", 2.5, {"bob", "cyd"}),
    ("custom.seats", "between", [1, 10], {"ada", "bob"}),
    ("custom.seats", "in", [0, 10], {"ada", "cyd"}),
    ("custom.seats", "is_empty", None, set()),
    ("custom.seats", "is_not_empty", None, {"ada", "bob", "cyd"}),
    # boolean (cyd: no key, so neither true nor false)
    ("custom.vip", "eq", True, {"ada"}),
    ("custom.vip", "eq", False, {"bob"}),
    # date (ada 10 days ago, bob in 5 days, cyd none)
    ("custom.renewal", "on", day(-10), {"ada"}),
    ("custom.renewal", "before", day(0), {"ada"}),
    ("custom.renewal", "after", day(0), {"bob"}),
    ("custom.renewal", "on_or_before", day(5), {"ada", "bob"}),
    ("custom.renewal", "on_or_after", day(-10), {"ada", "bob"}),
    ("custom.renewal", "between", [day(-11), day(-9)], {"ada"}),
    ("custom.renewal", "in_last_days", 30, {"ada"}),
    ("custom.renewal", "not_in_last_days", 30, {"bob", "cyd"}),
    ("custom.renewal", "in_next_days", 7, {"bob"}),
    ("custom.renewal", "is_empty", None, {"cyd"}),
    ("custom.renewal", "is_not_empty", None, {"ada", "bob"}),
    # multiple choice (bob: [])
    ("custom.tools", "contains", "erp", {"ada"}),
    ("custom.tools", "not_contains", "erp", {"bob", "cyd"}),
    ("custom.tools", "in", ["bi", "erp"], {"ada", "cyd"}),
    ("custom.tools", "not_in", ["crm"], {"bob", "cyd"}),
    ("custom.tools", "is_empty", None, {"bob"}),
    ("custom.tools", "is_not_empty", None, {"ada", "cyd"}),
]


def names(definition) -> set[str]:
    return set(contacts_queryset(definition).values_list("first_name", flat=True))


def rule(field, op, value=None, **extra):
    node = {"field": field, "op": op, **extra}
    if value is not None:
        node["value"] = value
    return {"entity": "contact", "conditions": [node]}


@pytest.fixture(params=["sql", "portable"])
def path(request):
    """Both compilations: containment (PostgreSQL) and the extracted key (the portable path)."""
    if request.param == "portable" or connection.vendor != "postgresql":
        with portable_path():
            yield request.param
    else:
        yield request.param


@pytest.mark.parametrize(("field", "op", "value", "expected"), CASES)
def test_custom_field_operators(people, path, field, op, value, expected):
    assert names(rule(field, op, value)) == expected
    # negate is plain NOT, empty values included
    assert names(rule(field, op, value, negate=True)) == {"ada", "bob", "cyd"} - expected


def test_custom_fields_on_related_entities(people, path):
    leads = {"related": "leads", "conditions": [{"field": "custom.budget", "op": "gte", "value": 100}]}
    assert names({"entity": "contact", "conditions": [leads]}) == {"ada"}
    empty = {"related": "leads", "conditions": [{"field": "custom.budget", "op": "is_empty"}]}
    assert names({"entity": "contact", "conditions": [empty]}) == {"bob"}
    account = {"entity": "account", "conditions": [{"field": "custom.region", "op": "eq", "value": "emea"}]}
    assert names(account) == {"ada"}


def test_custom_fields_validate_like_built_in_ones(people):
    def messages(field, op, value=None):
        return [e["message"] for e in validate_definition(rule(field, op, value))]

    assert messages("custom.nope", "eq", "x") == ["unknown field 'custom.nope' on contact"]
    assert "not a choice" in messages("custom.tier", "eq", "platinum")[0]
    assert "unknown operator" in messages("custom.tier", "contains", "gold")[0]
    assert messages("custom.seats", "eq", "ten") == ["must be a number"]
    assert "ISO date" in messages("custom.renewal", "on", "soon")[0]
    assert messages("custom.tools", "contains", "erp") == []
    assert validate_definition(rule("custom.budget", "eq", 1))  # a lead's field, not a contact's


def test_a_label_rename_changes_nothing(people):
    from crm_core.models import CustomField
    from crm_core.services import custom_field_update

    custom_field_update(custom_field=CustomField.objects.get(key="tier"), label="Customer tier")
    assert names(rule("custom.tier", "eq", "gold")) == {"ada"}
    assert Contact.objects.count() == 3


def test_the_same_cases_hold_on_sqlite(tmp_path):
    """This module again, in a process on the embedded default's database (SQLite)."""
    run = rerun_on_sqlite(tmp_path, __file__, leave_out="test_the_same_cases_hold_on_sqlite")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert connection.vendor == "postgresql" and f"{len(CASES) * 2 + 4} passed" in run.stdout, run.stdout[
        -2000:
    ]
