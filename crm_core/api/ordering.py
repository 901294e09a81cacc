"""`?ordering=` that keyset (cursor) pagination can serve from an index.

A cursor page is "the next N rows after this key" (no OFFSET), so the sort key
must be total and stable: one orderable field, always followed by the primary
key in the same direction as a tie-breaker. Orderable fields are declared per
view (`ordering_fields`) and must be NOT NULL (a NULL has no place in a row
comparison) and indexed (the page is then read from the index). An unknown
value gets a 400 that lists the allowed ones, not a silently different order.
"""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter

DEFAULT_ORDERING = ("-id",)


def ordering_choices(fields) -> list[str]:
    return [value for name in fields for value in (name, f"-{name}")]


def with_tie_breaker(term: str) -> tuple[str, ...]:
    """`-created_at` -> ("-created_at", "-id"); the primary key makes the key unique."""
    name = term.lstrip("-")
    if name in ("id", "pk"):
        return (term.replace("pk", "id"),)
    return (term, "-id" if term.startswith("-") else "id")


class KeysetOrderingFilter(OrderingFilter):
    """One ordering field from the view's `ordering_fields`, plus the primary key."""

    ordering_description = (
        "Sort by one field; prefix '-' for descending. Ties are broken by id in the same direction."
    )

    def allowed_fields(self, queryset, view) -> list[str]:
        fields = list(getattr(view, "ordering_fields", None) or ["id"])
        model = queryset.model if queryset is not None else view.get_queryset().model
        for name in fields:
            try:
                field = model._meta.get_field(name)
            except FieldDoesNotExist as exc:
                raise ImproperlyConfigured(
                    f"{view.__class__.__name__}: no field {name!r} to order by"
                ) from exc
            if field.null:
                raise ImproperlyConfigured(
                    f"{view.__class__.__name__}: {name!r} is nullable and cannot be a keyset ordering"
                )
        return fields

    def get_default_ordering(self, view):
        ordering = getattr(view, "ordering", None) or DEFAULT_ORDERING
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)

    def get_ordering(self, request, queryset, view):
        raw = request.query_params.get(self.ordering_param)
        if raw is None or raw.strip() == "":
            default = self.get_default_ordering(view)
            return with_tie_breaker(default[0]) if len(default) == 1 else default
        choices = ordering_choices(self.allowed_fields(queryset, view))
        term = raw.strip()
        if term not in choices:
            raise ValidationError(
                {self.ordering_param: [f"Unknown ordering {raw!r}; choose one of: {', '.join(choices)}."]}
            )
        return with_tie_breaker(term)

    def filter_queryset(self, request, queryset, view):
        return queryset.order_by(*self.get_ordering(request, queryset, view))

    def get_schema_operation_parameters(self, view):
        fields = getattr(view, "ordering_fields", None) or ["id"]
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": self.ordering_description,
                "schema": {"type": "string", "enum": ordering_choices(fields)},
            }
        ]
