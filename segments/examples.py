"""Example definitions: the contract's own example, used by tests, the benchmark and docs."""

# Decision makers among the Contoso Ltd Conference leads.
CONTOSO_DECISION_MAKERS = {
    "entity": "contact",
    "match": "all",
    "conditions": [
        {"field": "job_role", "op": "eq", "value": "decision_maker"},
        {
            "related": "leads",
            "quantifier": "exists",
            "match": "all",
            "conditions": [{"field": "topic", "op": "eq", "value": "Contoso Ltd Conference"}],
        },
    ],
}
