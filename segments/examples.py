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

# Contacts who may get bulk email and clicked an email in the last 30 days (the demo's segment and,
# with an account clause, the segment benchmark's "engaged" case).
BULK_EMAIL_ALLOWED = {"field": "do_not_bulk_email", "op": "eq", "value": False}
CLICKED_IN_LAST_30_DAYS = {
    "related": "interactions",
    "quantifier": "exists",
    "match": "all",
    "conditions": [
        {"field": "kind", "op": "eq", "value": "email_click"},
        {"field": "occurred_at", "op": "in_last_days", "value": 30},
    ],
}
RECENT_EMAIL_CLICKERS = {
    "entity": "contact",
    "match": "all",
    "conditions": [BULK_EMAIL_ALLOWED, CLICKED_IN_LAST_30_DAYS],
}
