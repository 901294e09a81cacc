"""Comparisons on custom fields (`custom.<key>`), with the operators and semantics of built-in
fields of the same type (operators.py wraps them: empty values, negative operators, negate).

Values are keys of the record's `custom` JSON column (crm_core.custom_fields says how each type is
stored). Equality on choices, booleans and numbers, and "has this choice" on multiple choices, are
jsonb containment on PostgreSQL, which the GIN jsonb_path_ops index on `custom` serves
(crm_core.custom_queries); text compares case-insensitively like built-in text, dates as ISO
strings (text order is date order), numbers as the key cast to a number.
"""

from __future__ import annotations

import datetime as dt
from functools import reduce
from operator import or_

from django.db.models import Q
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    IContains,
    IEndsWith,
    IExact,
    IStartsWith,
    LessThan,
    LessThanOrEqual,
)
from django.utils import timezone

from crm_core import custom_queries

from .registry import BOOLEAN, CHOICE, DATE, MULTI_CHOICE, NUMBER, TEXT, Field

TEXT_LOOKUPS = {"eq": IExact, "contains": IContains, "starts_with": IStartsWith, "ends_with": IEndsWith}
ORDER_LOOKUPS = {"gt": GreaterThan, "gte": GreaterThanOrEqual, "lt": LessThan, "lte": LessThanOrEqual}


def _any(parts: list[Q]) -> Q:
    return reduce(or_, parts)


def _text_q(field: Field, op: str, value) -> Q:
    expression = custom_queries.text(field.custom)
    if op == "in":
        return _any([Q(IExact(expression, v)) for v in value])
    return Q(TEXT_LOOKUPS[op](expression, value))


def _number_q(field: Field, op: str, value) -> Q:
    definition = field.custom
    if op == "eq":
        return custom_queries.equals(definition, value)
    if op == "in":
        return _any([custom_queries.equals(definition, v) for v in value])
    expression = custom_queries.number(definition)
    if op == "between":
        return Q(GreaterThanOrEqual(expression, value[0])) & Q(LessThanOrEqual(expression, value[1]))
    return Q(ORDER_LOOKUPS[op](expression, value))


def _date_q(field: Field, op: str, value) -> Q:
    """Dates stored as "YYYY-MM-DD": compared as text, in the project's time zone for the windows."""
    expression = custom_queries.text(field.custom)

    def between(low: dt.date, high: dt.date) -> Q:
        return Q(GreaterThanOrEqual(expression, low.isoformat())) & Q(
            LessThanOrEqual(expression, high.isoformat())
        )

    if op in ("in_last_days", "in_next_days"):
        today = timezone.localdate()
        days = dt.timedelta(days=value)
        return between(today - days, today) if op == "in_last_days" else between(today, today + days)
    if op == "between":
        return between(value[0], value[1])
    lookup = {
        "on": Exact,
        "before": LessThan,
        "after": GreaterThan,
        "on_or_before": LessThanOrEqual,
        "on_or_after": GreaterThanOrEqual,
    }[op]
    return Q(lookup(expression, value.isoformat()))


def comparison_q(field: Field, op: str, value) -> Q:
    """A positive operator on a custom field; SQL NULL (or false) where the key is missing."""
    definition = field.custom
    if field.type == TEXT:
        return _text_q(field, op, value)
    if field.type == NUMBER:
        return _number_q(field, op, value)
    if field.type == DATE:
        return _date_q(field, op, value)
    if field.type == BOOLEAN:
        return custom_queries.equals(definition, value)
    if field.type == MULTI_CHOICE:  # contains: has the choice; in: has any of them
        return _any([custom_queries.has_choice(definition, v) for v in (value if op == "in" else [value])])
    if field.type == CHOICE and op in ("eq", "in"):
        return _any([custom_queries.equals(definition, v) for v in (value if op == "in" else [value])])
    raise ValueError(f"operator {op!r} is not supported on custom {field.type} fields")


def empty_extra_q(field: Field) -> Q | None:
    """What else counts as empty besides a missing key: "" for text and choices, [] for multiple choices."""
    expression = custom_queries.text(field.custom)
    if field.type in (TEXT, CHOICE):
        return Q(Exact(expression, ""))
    if field.type == MULTI_CHOICE:
        return Q(Exact(expression, "[]"))
    return None
