"""Which segments use a custom field (crm_core asks before deleting one: crm_core.custom_fields)."""

from __future__ import annotations

from django.db.models import TextField
from django.db.models.functions import Cast

from .compiler.registry import definition_uses_field
from .models import Segment


def custom_field_usages(entity: str, key: str) -> list[str]:
    name = f"custom.{key}"
    # The definition's text mentions the name: a cheap pre-filter, then the tree decides.
    candidates = Segment.objects.annotate(text=Cast("definition", TextField())).filter(text__contains=name)
    return [
        f"segment “{segment.name}” (id {segment.pk})"
        for segment in candidates.order_by("id")
        if definition_uses_field(segment.definition, "contact", entity, name)
    ]
