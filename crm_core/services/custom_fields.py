"""Custom field definitions: create, change (label, required, choices, ordering) and delete.

The key, the entity and the type never change once created: stored values, segment definitions,
landing mappings and merge fields all refer to `custom.<key>` and rely on its type. Renaming the
label touches nothing else. A field still used somewhere cannot be deleted (`CustomFieldInUse`
says where: the API answers 409).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from .. import custom_fields
from ..models import CustomField, CustomFieldType

EDITABLE = frozenset({"label", "required", "choices", "ordering"})
CREATE_FIELDS = EDITABLE | {"entity", "key", "field_type"}
CHOICE_TYPES = (CustomFieldType.CHOICE, CustomFieldType.MULTI_CHOICE)
MAX_CHOICES = 200

_atomic = transaction.atomic(savepoint=False)


class CustomFieldInUse(Exception):
    """The field is still used; `usages` says where (one sentence each)."""

    def __init__(self, field: CustomField, usages: list[str]):
        self.usages = usages
        super().__init__(f"Custom field {field.name} of {field.entity} is in use: " + "; ".join(usages))


def choices_clean(field_type: str, choices) -> list[dict]:
    """Choices as stored: [{"value", "label"}]; plain strings are taken as both. ValidationError."""
    if field_type not in CHOICE_TYPES:
        if choices:
            raise ValidationError({"choices": ["Only choice and multiple-choice fields have choices."]})
        return []
    if not isinstance(choices, list) or not choices or len(choices) > MAX_CHOICES:
        raise ValidationError({"choices": [f"Give 1 to {MAX_CHOICES} choices."]})
    out, seen = [], set()
    for choice in choices:
        value, label = (
            (choice, choice)
            if isinstance(choice, str)
            else (
                (choice.get("value"), choice.get("label") or choice.get("value"))
                if isinstance(choice, dict)
                else (None, None)
            )
        )
        if not isinstance(value, str) or not isinstance(label, str):
            raise ValidationError({"choices": ['Each choice is a string or {"value": ..., "label": ...}.']})
        try:
            custom_fields.custom_key_check(value)
        except ValidationError as exc:
            raise ValidationError({"choices": [f"Choice value “{value}”: {exc.messages[0]}"]}) from exc
        if value in seen:
            raise ValidationError({"choices": [f"Choice value “{value}” is given twice."]})
        seen.add(value)
        out.append({"value": value, "label": label.strip()[:100] or value})
    return out


def _checked(values: dict[str, Any], allowed: frozenset[str]) -> dict[str, Any]:
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise TypeError(f"custom field fields not settable here: {', '.join(unknown)}")
    return values


@_atomic
def custom_field_create(*, actor=None, **values) -> CustomField:
    """A new custom field (entity, key, label, field_type, required, choices, ordering)."""
    values = _checked(values, CREATE_FIELDS)
    field = CustomField(**values)
    field.choices = choices_clean(field.field_type, values.get("choices") or [])
    field.full_clean()
    field.save()
    return field


@_atomic
def custom_field_update(*, custom_field: CustomField, actor=None, **values) -> CustomField:
    """Change the label, required, choices or ordering; key, entity and type are fixed."""
    fixed = sorted(
        n for n in ("entity", "key", "field_type") if n in values and values[n] != getattr(custom_field, n)
    )
    if fixed:
        raise ValidationError({n: ["Cannot change once the field exists."] for n in fixed})
    values = _checked({k: v for k, v in values.items() if k in EDITABLE}, EDITABLE)
    for name, value in values.items():
        setattr(custom_field, name, value)
    if "choices" in values:
        custom_field.choices = choices_clean(custom_field.field_type, values["choices"])
    custom_field.full_clean()
    custom_field.save()
    return custom_field


@_atomic
def custom_field_delete(*, custom_field: CustomField, actor=None) -> None:
    """Delete an unused field (its stored values stay in the records' `custom`, unread).
    CustomFieldInUse names where it is still used."""
    locked = CustomField.objects.select_for_update().get(pk=custom_field.pk)
    usages = custom_fields.usages(locked.entity, locked.key)
    if usages:
        raise CustomFieldInUse(locked, usages)
    locked.delete()
