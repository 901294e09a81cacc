"""What lead scoring announces to the apps above it: the leads it just handed to sales.

`leads_handed_off` is sent by the hand-off (leadscoring/services/handoff.py) INSIDE the recompute's
transaction, once per recompute that handed off at least one lead, with one `LeadsHandedOff`. It is a
plain synchronous signal: a subscriber's writes join the hand-off's transaction and an error in a
subscriber rolls the whole recompute back, so a lead is never handed over without the follow-up its
subscribers owe it. Sales subscribes (sales/apps.py): the owner's call task, notification and email.
Lead scoring stands below sales and so never imports it; this notice is how the hand-off reaches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.dispatch import Signal

from crm_core.services import SqlRows

from .models import ScoringModel


@dataclass(frozen=True)
class LeadsHandedOff:
    """Leads the primary scoring model just moved to marketing qualified, as of `now`.

    `owner_leads`: (owner_id, lead_id) of the handed-off leads that have an owner, in lead id order.
    On PostgreSQL an `SqlRows` over the hand-off's temp table (readable until the transaction ends),
    so a subscriber can write from it in one statement; on the portable path the rows themselves.
    """

    model: ScoringModel
    now: datetime
    owner_leads: SqlRows | tuple[tuple[int, int], ...]

    def owner_lead_rows(self) -> list[tuple[int, int]]:
        """`owner_leads` as rows (owner_id, lead_id) in lead id order, read from the table if need be."""
        if not isinstance(self.owner_leads, SqlRows):
            return list(self.owner_leads)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT h.owner_id, h.lead_id FROM {self.owner_leads.relation()} h(owner_id, lead_id)"
                " ORDER BY h.lead_id",
                self.owner_leads.params,
            )
            return cursor.fetchall()


# Sent synchronously inside the hand-off's transaction with `handoff=LeadsHandedOff(...)`.
leads_handed_off = Signal()
