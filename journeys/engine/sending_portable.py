"""Sending through the ORM (the embedded SQLite default): each email's "sent" mark is a plain
autocommit update, with the same one-message window as on PostgreSQL."""

from __future__ import annotations

from django.utils import timezone

from crm_core.models import Lead

from ..models import OutboundEmail


class SentMarks:
    """The "SMTP accepted it" mark of each email, committed before `send` returns."""

    def send(self, outbox_id: int) -> None:
        OutboundEmail.objects.filter(pk=outbox_id).update(sent_at=timezone.now())

    def wait(self) -> None:
        """Nothing in flight: each mark was committed by `send`."""

    def pause(self) -> None:
        """Nothing in flight."""

    def resume(self) -> None:
        """Nothing to resume."""

    def close(self) -> None:
        """Nothing to restore."""


def latest_leads(contact_ids: set[int]) -> dict[int, Lead]:
    """The newest lead of each of these contacts (merge fields `lead.*`)."""
    leads = Lead.objects.filter(parent_contact_id__in=contact_ids).order_by(
        "parent_contact_id", "-created_at", "-id"
    )
    latest: dict[int, Lead] = {}
    for lead in leads:
        latest.setdefault(lead.parent_contact_id, lead)
    return latest
