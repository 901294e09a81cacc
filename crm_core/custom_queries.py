"""Conditions on custom field values, shared by the API's filters and the segment compiler.

Equality on a choice, boolean or number and "has this choice" on a multiple choice are jsonb
containment on PostgreSQL (`custom @> '{"key": value}'`), which the GIN jsonb_path_ops index on
`custom` serves (crm_core 0013); the portable path (SQLite) compares the extracted key. Text and
dates compare the key as text (`custom ->> 'key'`; dates are stored as ISO strings, so text order
is date order), numbers as the key cast to a number. A missing key (or JSON null) reads as NULL.
"""

from __future__ import annotations

from django.db.models import FloatField, Q
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.db.models.lookups import Contains, Exact

from .models import CustomField, CustomFieldType
from .sqlpath import postgres_sql


def path(field: CustomField, prefix: str = "") -> str:
    return f"{prefix}custom__{field.key}"


def text(field: CustomField, prefix: str = ""):
    """The value as text (NULL when missing)."""
    return KT(path(field, prefix))


def number(field: CustomField, prefix: str = ""):
    """The value as a number (NULL when missing)."""
    return Cast(KT(path(field, prefix)), FloatField())


def is_null(field: CustomField, prefix: str = "") -> Q:
    """The key is missing or JSON null (SQLite reads a JSON null key as the text 'null')."""
    return Q(**{f"{path(field, prefix)}__isnull": True}) | Q(**{path(field, prefix): None})


def equals(field: CustomField, value, prefix: str = "") -> Q:
    """The stored value equals `value` (a choice, boolean, number, date or text, as stored)."""
    kind = field.field_type
    if kind in (CustomFieldType.CHOICE, CustomFieldType.BOOLEAN, CustomFieldType.NUMBER) and postgres_sql():
        return Q(**{f"{prefix}custom__contains": {field.key: value}})
    if kind == CustomFieldType.NUMBER:
        return Q(Exact(number(field, prefix), value))
    if kind == CustomFieldType.BOOLEAN:
        return Q(**{path(field, prefix): value})
    return Q(Exact(text(field, prefix), value))


def has_choice(field: CustomField, value: str, prefix: str = "") -> Q:
    """A multiple-choice value includes `value` (choice values are slugs: no quotes to escape)."""
    if postgres_sql():
        return Q(**{f"{prefix}custom__contains": {field.key: [value]}})
    return Q(Contains(text(field, prefix), f'"{value}"'))
