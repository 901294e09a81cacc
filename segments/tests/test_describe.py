"""Definitions in words (segments.compiler.describe_definition): labels from the registry, never a dict."""

import pytest

from segments.compiler import describe_definition

EMAIL_OPENED_30_DAYS = {
    "entity": "lead",
    "match": "all",
    "conditions": [
        {
            "related": "parent_contact",
            "quantifier": "exists",
            "match": "all",
            "conditions": [
                {
                    "related": "interactions",
                    "quantifier": "exists",
                    "match": "all",
                    "conditions": [
                        {"field": "kind", "op": "eq", "value": "email_open"},
                        {"field": "occurred_at", "op": "in_last_days", "value": 30},
                    ],
                }
            ],
        }
    ],
}


@pytest.mark.parametrize(
    ("definition", "root", "words"),
    [
        (EMAIL_OPENED_30_DAYS, None, "parent contact: email opened in the last 30 days"),
        ({"field": "job_role", "op": "eq", "value": "decision_maker"}, "contact",
         "job role is “Decision maker”"),
        ({"field": "score", "op": "between", "value": [50, 99]}, "lead", "score is between 50 and 99"),
        ({"field": "email", "op": "is_empty"}, "contact", "email is empty"),
        ({"field": "created_at", "op": "before", "value": "2026-01-01"}, "lead", "created before 2026-01-01"),
        ({"in_segment": 7, "negate": True}, "contact", "not in segment #7"),
        (
            {"match": "any", "conditions": [
                {"field": "country", "op": "in", "value": ["DE", "FR"]},
                {"field": "is_minor", "op": "eq", "value": False},
            ]},
            "contact",
            "country is one of “DE”, “FR” or is a minor is no",
        ),
        (
            {"related": "leads", "quantifier": "count", "count": {"op": "gte", "value": 3}, "match": "all",
             "conditions": [{"field": "status", "op": "eq", "value": "new"}]},
            "contact",
            "at least 3 leads where status is “New”",
        ),
        (
            {"related": "interactions", "quantifier": "not_exists", "match": "all",
             "conditions": [{"field": "kind", "op": "eq", "value": "email_click"}]},
            "contact",
            "no email link clicked",
        ),
        ({"match": "all", "conditions": []}, "contact", "every record"),
    ],
)  # fmt: skip
def test_definitions_read_as_words(definition, root, words):
    assert describe_definition(definition, root=root) == words


def test_unknown_names_still_read_rather_than_fail():
    stale = {"match": "all", "conditions": [{"field": "pasword", "op": "eq", "value": "x"}]}
    assert describe_definition(stale, root="contact") == "pasword is “x”"
