"""Operators per field type, with the exact semantics of the segment-query contract.

- Text comparison is case-insensitive.
- `is_empty` is true for NULL and, for text and choice fields, the empty string.
- The negative operators (neq, not_contains, not_in, not_in_last_days) also match empty values.
- Dates compare in the project's time zone (settings.TIME_ZONE).

Every condition is two-valued: true or false for every row, never SQL NULL (a comparison with a NULL
column or a missing JSON key is made false explicitly), so `negate` (NOT) of it, or of any group of
them, is plain NOT: a negated positive operator matches the rows whose field is empty.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from django.db.models import Q
from django.db.models.fields.json import KT
from django.db.models.functions import Lower
from django.db.models.lookups import Exact, In, IsNull
from django.utils import timezone

from crm_core import custom_queries

from . import custom
from .registry import BOOLEAN, CHOICE, DATE, DATETIME, MULTI_CHOICE, NUMBER, TEXT, Field

TEXT_OPS = (
    "eq", "neq", "contains", "not_contains", "starts_with", "ends_with", "in", "not_in",
    "is_empty", "is_not_empty",
)  # fmt: skip
CHOICE_OPS = ("eq", "neq", "in", "not_in", "is_empty", "is_not_empty")
NUMBER_OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "between", "in", "is_empty", "is_not_empty")
BOOLEAN_OPS = ("eq",)
# Custom multiple-choice fields: contains = has that choice, in = has any of them.
MULTI_CHOICE_OPS = ("contains", "not_contains", "in", "not_in", "is_empty", "is_not_empty")
DATE_OPS = (
    "on", "before", "after", "on_or_before", "on_or_after", "between", "in_last_days", "not_in_last_days",
    "in_next_days", "is_empty", "is_not_empty",
)  # fmt: skip
OPERATORS: dict[str, tuple[str, ...]] = {
    TEXT: TEXT_OPS,
    CHOICE: CHOICE_OPS,
    NUMBER: NUMBER_OPS,
    BOOLEAN: BOOLEAN_OPS,
    DATE: DATE_OPS,
    DATETIME: DATE_OPS,
    MULTI_CHOICE: MULTI_CHOICE_OPS,
}
NO_VALUE_OPS = ("is_empty", "is_not_empty")
LIST_OPS = ("in", "not_in")
DAYS_OPS = ("in_last_days", "not_in_last_days", "in_next_days")
MAX_LIST_VALUES = 1000
MAX_DAYS = 100_000


class ValueProblem(ValueError):
    """The value does not fit the field and operator; the message says why."""


# --- Validating values ---------------------------------------------------------------------------


def _number(value):
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueProblem("must be a number")
    return value


def _text(value):
    if not isinstance(value, str):
        raise ValueProblem("must be a string")
    if len(value) > 1000:
        raise ValueProblem("must be at most 1000 characters")
    return value


def _iso_date(value) -> dt.date:
    if not isinstance(value, str):
        raise ValueProblem("must be an ISO date (YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ValueProblem(f"{value!r} is not an ISO date (YYYY-MM-DD)") from exc


def _scalar_checker(field: Field) -> Callable:
    if field.type == TEXT:
        return _text
    if field.type == NUMBER:
        return _number
    if field.type in (CHOICE, MULTI_CHOICE):
        keys = [key for key, _ in field.choices]

        def choice(value):
            if value not in keys:
                raise ValueProblem(f"{value!r} is not a choice of {field.name}; expected one of {keys}")
            return value

        return choice
    if field.type == BOOLEAN:

        def boolean(value):
            if not isinstance(value, bool):
                raise ValueProblem("must be true or false")
            return value

        return boolean
    return _iso_date


def check_value(field: Field, op: str, node: dict):
    """The node's value, checked against the field type and operator; ValueProblem if it does not fit."""
    has_value = "value" in node
    value = node.get("value")
    if op in NO_VALUE_OPS:
        if has_value and value is not None:
            raise ValueProblem(f"{op!r} takes no value")
        return None
    if not has_value:
        raise ValueProblem(f"{op!r} needs a value")
    if op in DAYS_OPS:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAYS:
            raise ValueProblem(f"{op!r} needs a whole number of days from 0 to {MAX_DAYS}")
        return value
    scalar = _scalar_checker(field)
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise ValueProblem("'between' needs two values [low, high]")
        low, high = scalar(value[0]), scalar(value[1])
        if low > high:
            raise ValueProblem("'between' needs low <= high")
        return [low, high]
    if op in LIST_OPS:
        if not isinstance(value, list) or not value:
            raise ValueProblem(f"{op!r} needs a non-empty list of values")
        if len(value) > MAX_LIST_VALUES:
            raise ValueProblem(f"{op!r} takes at most {MAX_LIST_VALUES} values")
        return [scalar(v) for v in value]
    return scalar(value)


# --- Building Q objects ------------------------------------------------------------------------------

# Each negative operator is "empty, or not the positive one".
NEGATIVE_OPS = {"neq": "eq", "not_contains": "contains", "not_in": "in", "not_in_last_days": "in_last_days"}


def null_q(field: Field) -> Q:
    """The value is SQL NULL (for a JSON key: missing or JSON null)."""
    if field.custom is not None:
        return custom_queries.is_null(field.custom)
    if field.json_key:
        return Q(IsNull(KT(field.path), True))
    return Q(**{f"{field.path}__isnull": True})


def empty_q(field: Field) -> Q:
    """`is_empty`: NULL and, for text and choice fields, the empty string."""
    q = null_q(field) if field.nullable else Q(pk__in=[])
    if field.custom is not None:
        extra = custom.empty_extra_q(field)
        return q if extra is None else q | extra
    if field.type in (TEXT, CHOICE):
        q |= Q(Exact(KT(field.path), "")) if field.json_key else Q(**{field.path: ""})
    return q


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_default_timezone())


def _date_bounds(field: Field, low: dt.date, high: dt.date):
    """(lookup_low, bound_low, lookup_high, bound_high) for low <= value's day <= high."""
    if field.type == DATE:
        return "gte", low, "lte", high
    return "gte", _day_start(low), "lt", _day_start(high + dt.timedelta(days=1))


def _range(field: Field, low=None, high=None) -> Q:
    """low <= value's day <= high (either side optional)."""
    q = Q()
    if low is not None:
        lookup, bound, _, _ = _date_bounds(field, low, low)
        q &= Q(**{f"{field.path}__{lookup}": bound})
    if high is not None:
        _, _, lookup, bound = _date_bounds(field, high, high)
        q &= Q(**{f"{field.path}__{lookup}": bound})
    return q


def _today() -> dt.date:
    return timezone.localdate()


def _now_window(field: Field, days: int, *, future: bool) -> Q:
    if field.type == DATE:
        today = _today()
        low, high = (
            (today, today + dt.timedelta(days=days)) if future else (today - dt.timedelta(days=days), today)
        )
    else:
        now = timezone.now()
        low, high = (now, now + dt.timedelta(days=days)) if future else (now - dt.timedelta(days=days), now)
    return Q(**{f"{field.path}__gte": low, f"{field.path}__lte": high})


def _in_q(field: Field, values: list) -> Q:
    if field.type == TEXT:
        if "__" in field.path:  # a JSON key or a related column: case-insensitive equality per value
            q = Q()
            for v in values:
                q |= Q(**{f"{field.path}__iexact": v})
            return q
        return Q(In(Lower(field.path), [v.lower() for v in values]))
    return Q(**{f"{field.path}__in": [Decimal(str(v)) if isinstance(v, float) else v for v in values]})


def _date_q(field: Field, op: str, value) -> Q:
    path = field.path
    if op == "on":
        return _range(field, value, value)
    if op == "before":
        return Q(**{f"{path}__lt": value if field.type == DATE else _day_start(value)})
    if op == "after":
        if field.type == DATE:
            return Q(**{f"{path}__gt": value})
        return Q(**{f"{path}__gte": _day_start(value + dt.timedelta(days=1))})
    if op == "on_or_before":
        return _range(field, high=value)
    if op == "on_or_after":
        return _range(field, low=value)
    if op == "between":
        return _range(field, value[0], value[1])
    if op in ("in_last_days", "in_next_days"):
        return _now_window(field, value, future=op == "in_next_days")
    raise ValueProblem(f"operator {op!r} is not supported on {field.type} fields")


def _comparison_q(field: Field, op: str, value) -> Q:
    """A positive operator's comparison; SQL NULL where the value is NULL."""
    if field.custom is not None:
        return custom.comparison_q(field, op, value)
    path = field.path
    if field.type == BOOLEAN:
        return Q(**{path: value})
    if field.type in (DATE, DATETIME):
        return _date_q(field, op, value)
    text = field.type == TEXT
    if op == "eq":
        return Q(**{f"{path}__iexact" if text else path: value})
    if op in ("contains", "starts_with", "ends_with"):
        lookup = {"contains": "icontains", "starts_with": "istartswith", "ends_with": "iendswith"}[op]
        return Q(**{f"{path}__{lookup}": value})
    if op == "in":
        return _in_q(field, value)
    if op in ("gt", "gte", "lt", "lte"):
        return Q(**{f"{path}__{op}": value})
    if op == "between":
        return Q(**{f"{path}__gte": value[0], f"{path}__lte": value[1]})
    raise ValueProblem(f"operator {op!r} is not supported on {field.type} fields")


def _holds(field: Field, op: str, value) -> Q:
    """A positive operator, false (not NULL) where the value is NULL."""
    q = _comparison_q(field, op, value)
    return q & ~null_q(field) if field.nullable else q


def condition_q(field: Field, op: str, value) -> Q:
    """The Q of one field condition (value already checked): true or false for every row, never NULL."""
    if op == "is_empty":
        return empty_q(field)
    if op == "is_not_empty":
        return ~empty_q(field)
    if op in NEGATIVE_OPS:
        return empty_q(field) | ~_holds(field, NEGATIVE_OPS[op], value)
    return _holds(field, op, value)
