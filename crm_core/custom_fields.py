"""Custom field values: validation, parsing typed text, form fields, display, and where a field is used.

A record's custom values live in its `custom` JSON column as {key: value}, each value of the
definition's type: text a string, number a JSON number, date an ISO string "YYYY-MM-DD" (so text
order is date order on both databases), choice one choice value, multiple choice a list of choice
values, boolean true/false. An empty value (None, "", []) is not stored: the key is removed, so
"empty" means "key missing" everywhere (segments, filters, merge fields).

Every writer goes through `values_clean` (called by the record services): unknown keys and values
of the wrong type are a ValidationError naming the key. Other apps read definitions through
`definitions()` / `definition()`; forms get Django form fields from `form_fields(entity)` (the
workspace's create/edit forms, the admin) and landing forms from `form_field(definition)`.

Where a field is used: apps report it through an optional `custom_field_usages(entity, key)`
method on their AppConfig (segments, landing, journeys), found through the app registry, so
crm_core imports none of them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping

from django import forms
from django.apps import apps
from django.core.exceptions import ValidationError

from .models import CustomField, CustomFieldType
from .models.custom import custom_key_validator

PREFIX = "custom."
ENTITIES = ("contact", "account", "lead")
MAX_TEXT = 1000
EMPTY = (None, "", [])


class CustomValuesInvalid(ValidationError):
    """Custom values that do not validate; `errors` is {key: [message]} (the API nests it)."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__({"custom": [f"{key}: {m}" for key, messages in errors.items() for m in messages]})


def definitions(entity: str) -> list[CustomField]:
    """The entity's custom fields in display order (one query)."""
    return list(CustomField.objects.filter(entity=entity).order_by("ordering", "id"))


def definition(entity: str, name_or_key: str) -> CustomField | None:
    """The definition a name (`custom.<key>`) or key refers to, or None."""
    key = name_or_key.removeprefix(PREFIX)
    if entity not in ENTITIES or not key:
        return None
    return CustomField.objects.filter(entity=entity, key=key).first()


def custom_key_check(value: str) -> None:
    """ValidationError unless `value` is a valid key (or choice value): a short slug."""
    custom_key_validator(value)


def choice_values(field: CustomField) -> list[str]:
    return [c["value"] for c in field.choices or []]


def choice_pairs(field: CustomField) -> list[tuple[str, str]]:
    return [(c["value"], c.get("label") or c["value"]) for c in field.choices or []]


# --- Validating values ---------------------------------------------------------------------------


def _number(value):
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError("Expected a number.")
    return value


def _date(value):
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if not isinstance(value, str):
        raise ValidationError("Expected an ISO date (YYYY-MM-DD).")
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError as exc:
        raise ValidationError(f"“{value}” is not an ISO date (YYYY-MM-DD).") from exc


def _text(value):
    if not isinstance(value, str):
        raise ValidationError("Expected a string.")
    if len(value) > MAX_TEXT or "\x00" in value:
        raise ValidationError(f"At most {MAX_TEXT} characters, no NUL characters.")
    return value.strip()


def value_clean(field: CustomField, value):
    """The value as stored (None: empty), or ValidationError saying what is wrong with it."""
    if value in EMPTY:
        return None
    kind = field.field_type
    if kind == CustomFieldType.TEXT:
        return _text(value) or None
    if kind == CustomFieldType.NUMBER:
        return _number(value)
    if kind == CustomFieldType.DATE:
        return _date(value)
    if kind == CustomFieldType.BOOLEAN:
        if not isinstance(value, bool):
            raise ValidationError("Expected true or false.")
        return value
    allowed = choice_values(field)
    if kind == CustomFieldType.CHOICE:
        if value not in allowed:
            raise ValidationError(f"“{value}” is not a choice; expected one of {allowed}.")
        return value
    if not isinstance(value, list) or any(v not in allowed for v in value):
        raise ValidationError(f"Expected a list of choices from {allowed}.")
    return [v for v in allowed if v in value]  # the definition's order, no repeats


def values_clean(
    entity: str, values, *, current: Mapping | None = None, creating: bool, fields: Mapping | None = None
) -> dict:
    """The record's new `custom` value: `current` with `values` merged in (a key set to an empty
    value is removed), validated; required fields are checked when creating. ValidationError
    `{"custom": {key: [message]}}` otherwise. `fields` ({key: definition}) saves the query when the
    caller cleans many records."""
    if not isinstance(values, Mapping):
        raise ValidationError({"custom": ["Expected a JSON object of custom field values by key."]})
    if fields is None:
        fields = {f.key: f for f in definitions(entity)}
    errors: dict[str, list[str]] = {}
    merged = dict(current or {})
    for key, value in values.items():
        field = fields.get(key)
        if field is None:
            errors[str(key)] = [f"Unknown custom field “{key}” on {entity}."]
            continue
        try:
            cleaned = value_clean(field, value)
        except ValidationError as invalid:
            errors[key] = invalid.messages
            continue
        if cleaned is None:
            merged.pop(key, None)
        else:
            merged[key] = cleaned
    if creating:
        for key, field in fields.items():
            if field.required and key not in merged and key not in errors:
                errors[key] = ["This custom field is required."]
    if errors:
        raise CustomValuesInvalid(errors)
    return merged


def parse_text(field: CustomField, raw: str):
    """A value typed as text (a CSV cell, a query parameter) as the field's type; ValidationError."""
    raw = raw.strip()
    if raw == "":
        return None
    kind = field.field_type
    if kind == CustomFieldType.NUMBER:
        try:
            number = float(raw)
        except ValueError as exc:
            raise ValidationError(f"“{raw}” is not a number.") from exc
        return int(number) if number.is_integer() and "." not in raw and "e" not in raw.lower() else number
    if kind == CustomFieldType.BOOLEAN:
        lowered = raw.lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise ValidationError("Expected true or false.")
    if kind == CustomFieldType.MULTI_CHOICE:
        return [v.strip() for v in raw.split(";") if v.strip()]
    return raw


def parse_cell(field: CustomField, raw: str):
    """An imported cell as the field's type (`parse_text`), a choice found by its value or its
    label in any case (multiple choices separated by ";"); `value_clean` checks the result."""
    parsed = parse_text(field, raw)
    if field.field_type not in (CustomFieldType.CHOICE, CustomFieldType.MULTI_CHOICE) or parsed is None:
        return parsed
    by_text: dict[str, str] = {}
    for value, label in choice_pairs(field):
        by_text.setdefault(value.lower(), value)
        by_text.setdefault(label.lower(), value)
    if field.field_type == CustomFieldType.CHOICE:
        return by_text.get(parsed.lower(), parsed)
    return [by_text.get(part.lower(), part) for part in parsed]


def as_text(field: CustomField, value) -> str:
    """A stored value as one CSV cell that `parse_text` reads back (exports): "" when empty,
    true/false, multiple choices joined by ";", numbers and ISO dates as they are stored."""
    if value in EMPTY:
        return ""
    if field.field_type == CustomFieldType.BOOLEAN:
        return "true" if value else "false"
    if field.field_type == CustomFieldType.MULTI_CHOICE and isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


# --- Forms and display ---------------------------------------------------------------------------


def form_field(field: CustomField, *, required: bool | None = None, label: str | None = None) -> forms.Field:
    """A Django form field for one custom field; its cleaned value is what `value_clean` accepts."""
    common = {"label": label or field.label, "required": field.required if required is None else required}
    kind = field.field_type
    if kind == CustomFieldType.NUMBER:
        return forms.FloatField(**common)
    if kind == CustomFieldType.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == CustomFieldType.BOOLEAN:
        return forms.BooleanField(**{**common, "required": False})
    if kind == CustomFieldType.CHOICE:
        return forms.ChoiceField(choices=[("", "---------"), *choice_pairs(field)], **common)
    if kind == CustomFieldType.MULTI_CHOICE:
        return forms.MultipleChoiceField(
            choices=choice_pairs(field), widget=forms.CheckboxSelectMultiple, **common
        )
    return forms.CharField(max_length=MAX_TEXT, **common)


def form_fields(entity: str, *, required: bool | None = None) -> dict[str, forms.Field]:
    """Form fields for every custom field of `entity`, named `custom.<key>`: a create/edit form adds
    them and passes `form_values(entity, cleaned_data)` as the service's `custom=`."""
    return {f.name: form_field(f, required=required) for f in definitions(entity)}


def form_values(cleaned_data: Mapping) -> dict:
    """The `custom` values of a form's cleaned data (fields named `custom.<key>`)."""
    out = {}
    for name, value in cleaned_data.items():
        if name.startswith(PREFIX):
            out[name.removeprefix(PREFIX)] = value.isoformat() if isinstance(value, dt.date) else value
    return out


def display(field: CustomField, value) -> str:
    """A stored value as people read it (labels for choices)."""
    if value in EMPTY:
        return ""
    labels = dict(choice_pairs(field))
    if field.field_type == CustomFieldType.MULTI_CHOICE:
        return ", ".join(labels.get(v, v) for v in value)
    if field.field_type == CustomFieldType.CHOICE:
        return labels.get(value, value)
    if field.field_type == CustomFieldType.BOOLEAN:
        return "Yes" if value else "No"
    return str(value)


def displayed(entity: str, custom: Mapping | None) -> list[tuple[str, str]]:
    """(label, shown value) for each custom field of `entity`, in display order."""
    custom = custom or {}
    return [(f.label, display(f, custom.get(f.key))) for f in definitions(entity)]


# --- Where a field is used -----------------------------------------------------------------------


def usages(entity: str, key: str) -> list[str]:
    """Where `custom.<key>` of `entity` is used, as sentences (empty: unused), from every app's
    AppConfig.custom_field_usages(entity, key)."""
    found: list[str] = []
    for config in apps.get_app_configs():
        hook = getattr(config, "custom_field_usages", None)
        if hook is not None:
            found += hook(entity, key)
    return found
