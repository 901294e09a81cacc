"""Email addresses as the CRM stores them: one normalisation rule (trimmed, lower-case, empty ->
NULL) for every path that stores or looks up an email, and the model field that applies it."""

from django.db import models
from django.db.models.functions import Lower
from django.db.models.lookups import Exact, In


def normalize_email(value: str | None) -> str | None:
    """Trim and lower-case; an empty address is no address (NULL)."""
    if value is None:
        return None
    value = str(value).strip().lower()
    return value or None


class NormalizedEmailField(models.EmailField):
    """An EmailField whose values are stored and compared normalised.

    Normalising in the field (not in `save()`) covers every write the ORM makes,
    `bulk_create` and `update()` included, and every exact lookup.

    `email=...` and `email__in=...` compare `LOWER(email)`, the expression the database indexes
    emails by (contact_email_ci_unique, lead_email_lower_idx): a plain `email = ...` would scan the
    table. For a stored (normalised) value LOWER changes nothing, so the rows found are the same.
    """

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if isinstance(value, str):
            return normalize_email(value)
        return value

    def to_python(self, value):
        value = super().to_python(value)
        return normalize_email(value) if isinstance(value, str) else value


class _LowerExact(Exact):
    def __init__(self, lhs, rhs):
        super().__init__(Lower(lhs), rhs)


class _LowerIn(In):
    def __init__(self, lhs, rhs):
        super().__init__(Lower(lhs), rhs)


NormalizedEmailField.register_lookup(_LowerExact)
NormalizedEmailField.register_lookup(_LowerIn)
