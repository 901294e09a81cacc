"""Random trees on random small data: the compiled query returns exactly what a plain-Python
evaluation of the contract's semantics returns."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_core.models import Contact, Lead
from segments.compiler import contacts_queryset

ROLES = ["decision_maker", "influencer", ""]
COUNTRIES = ["Germany", "germany", "France", ""]
TOPICS = ["Contoso Ltd Conference", "CONTOSO LTD CONFERENCE", "Demo", ""]

contact_field = st.one_of(
    st.builds(
        lambda op, v: {"field": "job_role", "op": op, "value": v},
        st.sampled_from(["eq", "neq"]),
        st.sampled_from(ROLES[:2]),
    ),
    st.builds(
        lambda op, v: {"field": "job_role", "op": op, "value": v},
        st.sampled_from(["in", "not_in"]),
        st.lists(st.sampled_from(ROLES[:2]), min_size=1, max_size=2),
    ),
    st.builds(lambda op: {"field": "job_role", "op": op}, st.sampled_from(["is_empty", "is_not_empty"])),
    st.builds(
        lambda op, v: {"field": "country", "op": op, "value": v},
        st.sampled_from(["eq", "neq", "contains", "not_contains", "starts_with"]),
        st.sampled_from(["germany", "FR", "an"]),
    ),
    st.builds(
        lambda op, v: {"field": "consent_level", "op": op, "value": v},
        st.sampled_from(["eq", "neq", "gt", "gte", "lt", "lte"]),
        st.integers(0, 5),
    ),
    st.builds(lambda v: {"field": "do_not_bulk_email", "op": "eq", "value": v}, st.booleans()),
)
lead_field = st.one_of(
    st.builds(
        lambda op, v: {"field": "topic", "op": op, "value": v},
        st.sampled_from(["eq", "neq", "contains", "not_contains"]),
        st.sampled_from(["contoso ltd conference", "demo"]),
    ),
    st.builds(lambda op: {"field": "topic", "op": op}, st.sampled_from(["is_empty", "is_not_empty"])),
    st.builds(lambda v: {"field": "sales_ready", "op": "eq", "value": v}, st.booleans()),
)


def negatable(node_strategy):
    return st.builds(
        lambda node, neg: {**node, "negate": True} if neg else node, node_strategy, st.booleans()
    )


def group(children):
    return st.builds(
        lambda match, conds: {"match": match, "conditions": conds},
        st.sampled_from(["all", "any"]),
        st.lists(children, max_size=3),
    )


lead_tree = st.recursive(negatable(lead_field), lambda kids: negatable(group(kids)), max_leaves=3)
related = st.builds(
    lambda q, match, conds, count: {
        "related": "leads",
        "quantifier": q,
        "match": match,
        "conditions": conds,
        **({"count": count} if q == "count" else {}),
    },
    st.sampled_from(["exists", "not_exists", "count"]),
    st.sampled_from(["all", "any"]),
    st.lists(lead_tree, max_size=2),
    st.builds(
        lambda op, v: {"op": op, "value": v},
        st.sampled_from(["eq", "gte", "lte", "gt", "lt"]),
        st.integers(0, 2),
    ),
)
contact_tree = st.recursive(
    negatable(st.one_of(contact_field, related)), lambda kids: negatable(group(kids)), max_leaves=5
)

people = st.lists(
    st.tuples(
        st.sampled_from(ROLES),
        st.sampled_from(COUNTRIES),
        st.integers(0, 5),
        st.booleans(),
        st.lists(st.tuples(st.sampled_from(TOPICS), st.booleans()), max_size=3),
    ),
    min_size=1,
    max_size=5,
)


# --- the contract's semantics, in plain Python ------------------------------------------------------


def empty(value):
    return value is None or value == ""


def field_matches(record: dict, node: dict) -> bool:
    value, op, arg = record[node["field"]], node["op"], node.get("value")
    text = isinstance(value, str)
    low = value.lower() if text else value
    if op == "is_empty":
        return empty(value)
    if op == "is_not_empty":
        return not empty(value)
    if op in ("neq", "not_contains", "not_in") and empty(value):
        return True
    if op == "eq":
        return low == (arg.lower() if text else arg)
    if op == "neq":
        return low != (arg.lower() if text else arg)
    if op == "contains":
        return arg.lower() in low
    if op == "not_contains":
        return arg.lower() not in low
    if op == "starts_with":
        return low.startswith(arg.lower())
    if op == "in":
        return low in [a.lower() for a in arg]
    if op == "not_in":
        return low not in [a.lower() for a in arg]
    return {"gt": value > arg, "gte": value >= arg, "lt": value < arg, "lte": value <= arg}[op]


def matches(record: dict, node: dict) -> bool:
    if "field" in node:
        result = field_matches(record, node)
    elif "related" in node:
        hits = [lead for lead in record["leads"] if group_matches(lead, node)]
        quantifier = node["quantifier"]
        if quantifier == "exists":
            result = bool(hits)
        elif quantifier == "not_exists":
            result = not hits
        else:
            n, op, want = len(hits), node["count"]["op"], node["count"]["value"]
            result = {"eq": n == want, "gte": n >= want, "lte": n <= want, "gt": n > want, "lt": n < want}[op]
    else:
        result = group_matches(record, node)
    return not result if node.get("negate") else result


def group_matches(record: dict, node: dict) -> bool:
    results = [matches(record, child) for child in node.get("conditions", [])]
    if not results:
        return True
    return any(results) if node.get("match", "all") == "any" else all(results)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=people, tree=contact_tree)
def test_compiled_query_equals_python_evaluation(data, tree):
    Lead.objects.all().delete()
    Contact.objects.all().delete()
    records = {}
    for index, (role, country, level, dnb, leads) in enumerate(data):
        contact = Contact.objects.create(
            email=f"p{index}@example.com",
            job_role=role,
            country=country,
            consent_level=level,
            do_not_bulk_email=dnb,
        )
        lead_rows = []
        for topic, ready in leads:
            Lead.objects.create(parent_contact=contact, topic=topic, sales_ready=ready)
            lead_rows.append({"topic": topic, "sales_ready": ready})
        records[contact.pk] = {
            "job_role": role,
            "country": country,
            "consent_level": level,
            "do_not_bulk_email": dnb,
            "leads": lead_rows,
        }
    definition = {"entity": "contact", "match": "all", "conditions": [tree]}
    expected = {pk for pk, record in records.items() if group_matches(record, definition)}
    assert set(contacts_queryset(definition).values_list("pk", flat=True)) == expected, definition
