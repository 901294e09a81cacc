"""Writes to CRM records. Every write that matters goes through a function here."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from .emails import normalize_email
from .models import Contact, Lead


def contact_get_or_create_by_email(*, email: str, defaults: dict | None = None) -> tuple[Contact, bool]:
    """The contact with this (normalised) email, created from `defaults` if there is none.

    Safe under concurrency: the database's unique index on lower(email) lets one
    of two racing creators win; the other reads the winner's row.
    """
    email = normalize_email(email)
    if email is None:
        raise ValueError("an email is required to match a contact")
    try:
        return Contact.objects.get_or_create(email=email, defaults=defaults or {})
    except IntegrityError:  # lost a race that get_or_create could not absorb
        return Contact.objects.get(email=email), False


@transaction.atomic
def lead_create(*, data: dict, created_by=None) -> Lead:
    """Create a lead from validated field values."""
    return Lead.objects.create(**data)


@transaction.atomic
def lead_update(*, lead: Lead, data: dict, updated_by=None) -> Lead:
    """Change a lead's fields from validated values."""
    for name, value in data.items():
        setattr(lead, name, value)
    lead.save()
    return lead
