"""Every kind of bad node is refused, each error naming the node by its path."""

import pytest

from segments.compiler import DefinitionError, compile_definition, validate_definition
from segments.compiler.compile import MAX_DEPTH, MAX_NODES
from segments.services import segment_create, segment_update

pytestmark = pytest.mark.django_db

LEAD_CLAUSE = {"related": "leads", "quantifier": "exists", "conditions": []}


def contact(*conditions, **extra):
    return {"entity": "contact", "match": "all", "conditions": list(conditions), **extra}


BAD = [
    ([], "", "JSON object"),
    ({"match": "all", "conditions": []}, "entity", "missing 'entity'"),
    ({"entity": "user", "conditions": []}, "entity", "unknown entity 'user'"),
    ({"entity": "lead", "conditions": []}, "entity", "unknown entity 'lead'"),
    (contact(extra=1), "extra", "unknown key 'extra'"),
    (contact(match="some"), "match", "'all' or 'any'"),
    ({"entity": "contact", "conditions": {}}, "conditions", "must be a list"),
    (contact("x"), "conditions[0]", "JSON object"),
    (contact({"foo": 1}), "conditions[0]", "unknown node"),
    (
        contact({"field": "pasword", "op": "eq", "value": "x"}),
        "conditions[0].field",
        "unknown field 'pasword' on contact",
    ),
    (contact({"field": "email", "op": "gt", "value": "x"}), "conditions[0].op", "unknown operator 'gt'"),
    (contact({"field": "email", "op": "eq"}), "conditions[0].value", "needs a value"),
    (contact({"field": "email", "op": "eq", "value": 3}), "conditions[0].value", "must be a string"),
    (contact({"field": "email", "op": "is_empty", "value": "x"}), "conditions[0].value", "takes no value"),
    (contact({"field": "email", "op": "in", "value": "x"}), "conditions[0].value", "non-empty list"),
    (
        contact({"field": "consent_level", "op": "eq", "value": "3"}),
        "conditions[0].value",
        "must be a number",
    ),
    (
        contact({"field": "consent_level", "op": "eq", "value": True}),
        "conditions[0].value",
        "must be a number",
    ),
    (contact({"field": "consent_level", "op": "between", "value": [1]}), "conditions[0].value", "two values"),
    (
        contact({"field": "consent_level", "op": "between", "value": [4, 1]}),
        "conditions[0].value",
        "low <= high",
    ),
    (contact({"field": "job_role", "op": "eq", "value": "ceo"}), "conditions[0].value", "not a choice"),
    (contact({"field": "is_minor", "op": "eq", "value": "yes"}), "conditions[0].value", "true or false"),
    (contact({"field": "created_at", "op": "on", "value": "22/11/2026"}), "conditions[0].value", "ISO date"),
    (
        contact({"field": "created_at", "op": "in_last_days", "value": 1.5}),
        "conditions[0].value",
        "whole number",
    ),
    (
        contact({"field": "email", "op": "eq", "value": "a", "negate": "yes"}),
        "conditions[0].negate",
        "true or false",
    ),
    (contact({"field": "email", "op": "eq", "value": "a", "x": 1}), "conditions[0].x", "unknown key 'x'"),
    (
        contact({"related": "owner", "conditions": []}),
        "conditions[0].related",
        "unknown relationship 'owner'",
    ),
    (contact({**LEAD_CLAUSE, "quantifier": "most"}), "conditions[0].quantifier", "must be one of"),
    (contact({**LEAD_CLAUSE, "quantifier": "count"}), "conditions[0].count", "needs"),
    (
        contact({**LEAD_CLAUSE, "quantifier": "count", "count": {"op": "ne", "value": 1}}),
        "conditions[0].count.op",
        "one of",
    ),
    (
        contact({**LEAD_CLAUSE, "quantifier": "count", "count": {"op": "eq", "value": -1}}),
        "conditions[0].count.value",
        ">= 0",
    ),
    (
        contact({**LEAD_CLAUSE, "count": {"op": "eq", "value": 1}}),
        "conditions[0].count",
        "quantifier 'count' only",
    ),
    (
        contact({**LEAD_CLAUSE, "conditions": [{"field": "pasword", "op": "eq", "value": "x"}]}),
        "conditions[0].conditions[0].field",
        "unknown field 'pasword' on lead",
    ),
    (contact({"in_segment": "7"}), "conditions[0].in_segment", "segment id"),
    (contact({"in_segment": 987654}), "conditions[0].in_segment", "does not exist"),
    (
        {"entity": "account", "conditions": [{"in_segment": 1}]},
        "conditions[0].in_segment",
        "contacts only",
    ),
]


@pytest.mark.parametrize(("definition", "path", "message"), BAD)
def test_bad_nodes_are_refused_with_their_path(definition, path, message):
    errors = validate_definition(definition)
    assert any(e["path"] == path and message in e["message"] for e in errors), errors
    with pytest.raises(DefinitionError):
        compile_definition(definition)


def test_every_problem_is_reported():
    errors = validate_definition(
        contact({"field": "nope", "op": "eq", "value": 1}, {"field": "email", "op": "zz", "value": "x"})
    )
    assert [e["path"] for e in errors] == ["conditions[0].field", "conditions[1].op"]


def test_depth_and_size_caps():
    node = {"field": "email", "op": "is_empty"}
    for _ in range(MAX_DEPTH + 1):
        node = {"match": "all", "conditions": [node]}
    errors = validate_definition({"entity": "contact", **node})
    assert any("deeper than" in e["message"] for e in errors)
    wide = contact(*[{"field": "email", "op": "is_empty"}] * (MAX_NODES + 5))
    assert any("more than" in e["message"] for e in validate_definition(wide))


def test_segment_cycles_are_refused_and_nothing_is_saved():
    first = segment_create(name="A", definition=contact())
    second = segment_create(name="B", definition=contact({"in_segment": first.pk}))
    with pytest.raises(DefinitionError) as refused:
        segment_update(segment=first, data={"definition": contact({"in_segment": second.pk})})
    assert refused.value.errors[0]["path"] == "conditions[0].in_segment"
    assert "cycle" in refused.value.errors[0]["message"]
    first.refresh_from_db()
    assert first.definition == contact()
    with pytest.raises(DefinitionError):
        segment_update(segment=first, data={"definition": contact({"in_segment": first.pk})})
