"""Email addresses as the CRM stores them: one normalisation rule (trimmed, lower-case, empty ->
NULL) for every path that stores or looks up an email, and the model field that applies it."""

from django.db import models


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
    """

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if isinstance(value, str):
            return normalize_email(value)
        return value

    def to_python(self, value):
        value = super().to_python(value)
        return normalize_email(value) if isinstance(value, str) else value
