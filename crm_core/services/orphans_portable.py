"""The orphan-lead workflow's batch through the ORM: the portable path (`crm_core.sqlpath`)."""

from __future__ import annotations

from django.utils import timezone

from ..addresses import normalize_email
from ..models import Contact, ContactOrigin, Lead


def link_locked_batch(ids: list[int], *, run_started) -> tuple[int, int, list[int], set[int]]:
    """The same job through the ORM, for the embedded SQLite default (whose writers are serialised).

    A few statements per batch too (read, insert, read back, bulk update), but the rows pass
    through Python: fine for a development database, and PostgreSQL never takes this path.
    """
    now = timezone.now()
    leads = list(Lead.objects.filter(pk__in=ids, parent_contact__isnull=True).order_by("pk"))
    by_email: dict[str, list[Lead]] = {}
    without_email: list[Lead] = []
    for lead in leads:
        email = normalize_email(lead.email)
        if email:
            by_email.setdefault(email, []).append(lead)
        else:
            without_email.append(lead)

    def contacts_by_email(emails) -> dict[str, tuple[int, object]]:
        found: dict[str, tuple[int, object]] = {}
        emails = sorted(emails)
        for start in range(0, len(emails), 500):
            rows = Contact.objects.filter(email__in=emails[start : start + 500])
            found.update({email: (pk, at) for email, pk, at in rows.values_list("email", "pk", "created_at")})
        return found

    def contact_from(lead: Lead, email: str | None) -> Contact:
        return Contact(
            first_name=lead.first_name,
            last_name=lead.last_name,
            email=email,
            job_title=lead.job_title,
            job_role=lead.job_role,
            parent_account_id=lead.parent_account_id,
            owner_id=lead.owner_id,
            marketing_only=True,
            origin=ContactOrigin.ORPHAN_LEAD_WORKFLOW,
            created_at=now,
            updated_at=now,
        )

    existing = contacts_by_email(by_email)
    missing = sorted(set(by_email) - set(existing))
    Contact.objects.bulk_create(
        [
            contact_from(
                min(by_email[email], key=lambda lead: (lead.parent_account_id is None, lead.pk)), email
            )
            for email in missing
        ],
        ignore_conflicts=True,
        batch_size=500,
    )
    made = contacts_by_email(missing)
    for email, group in by_email.items():
        contact_id = existing.get(email, made.get(email))[0]
        for lead in group:
            lead.parent_contact_id = contact_id
    contacts_created = len(made)  # absent before this batch (SQLite has no concurrent writer)
    own = Contact.objects.bulk_create([contact_from(lead, None) for lead in without_email], batch_size=500)
    for lead, contact in zip(without_email, own, strict=True):
        lead.parent_contact_id = contact.pk
    for lead in leads:
        lead.updated_at = now
    Lead.objects.bulk_update(leads, ["parent_contact", "updated_at"], batch_size=500)
    matched = [pk for pk, at in existing.values() if at < run_started]
    return len(leads), contacts_created + len(own), matched, {lead.parent_contact_id for lead in leads}
