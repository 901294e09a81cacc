"""The sales-ready hand-off: what both paths share (the states, the reasons, the owners' pool, the notice).

Lead scoring decides who crosses (its score table's handoff_state) and to which owner (round-robin);
crm_core.services.scores moves the leads (leads_hand_off, leads_return_to_nurture); the apps above
hear of the hand-off through `leadscoring.events.leads_handed_off` (sales makes the owner's call task,
notification and email). Per lead and primary model, LeadScore.handoff_state:

  ''          (armed)       -> score >= threshold and lead status new/nurture: HAND OFF
                               (marketing_qualified, owner, an 'up' crossing, the notice to sales)
  handed_off                -> score < threshold: a 'down' crossing; a lead still marketing_qualified
                               (sales has not accepted it) goes back to nurture
  returned                  -> score < threshold - margin: armed again. While 'returned' a score that
                               wobbles back over the threshold hands nothing off and records nothing.

Each recompute of the primary live model runs three steps in this order: (1) handed-off leads below
the threshold return, (2) returned leads far enough below re-arm, (3) armed leads at or over the
threshold are handed off, locked in lead id order. The owner is the lead's own, else its account's,
else its contact's account's, else the sales user assigned least recently (round-robin, ties by user
id). PostgreSQL: `handoff_sql.py`; the portable path: `handoff_portable.py`.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model

from crm_core.roles import SALES
from crm_core.services import SqlRows

from ..events import LeadsHandedOff, leads_handed_off
from ..models import ScoringModel


def reason_down(model: ScoringModel) -> str:
    return (
        f"Score fell below the sales-ready threshold ({model.sales_ready_threshold}) "
        f"of scoring model '{model.name}'."
    )


def reason_up(model: ScoringModel) -> str:
    return (
        f"Score reached the sales-ready threshold ({model.sales_ready_threshold}) "
        f"of scoring model '{model.name}'."
    )


def sales_user_ids() -> list[int]:
    """The round-robin pool: active users in the sales group, by id."""
    return list(
        get_user_model()
        .objects.filter(groups__name=SALES, is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()
    )


def handed_off_announce(
    *, model: ScoringModel, now: datetime, owner_leads: SqlRows | list[tuple[int, int]]
) -> None:
    """Tell the apps above, inside this transaction, which leads went to which owner (see
    `leadscoring.events`); `owner_leads`: (owner_id, lead_id) of the owned handed-off leads."""
    if not isinstance(owner_leads, SqlRows):
        owner_leads = tuple(owner_leads)
    leads_handed_off.send(
        sender=LeadsHandedOff, handoff=LeadsHandedOff(model=model, now=now, owner_leads=owner_leads)
    )
