"""The sales-ready hand-off through the ORM (the embedded SQLite default): the three steps of
`handoff.py` with the same owners, history, crossings and notice as `handoff_sql.py`."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Max
from django.db.models.functions import Coalesce

from crm_core.models import LeadStatus
from crm_core.services import leads_hand_off, leads_return_to_nurture

from ..models import CrossingDirection, HandoffState, LeadScore, SalesReadyCrossing, ScoringModel
from .handoff import handed_off_announce, reason_down, reason_up, sales_user_ids
from .rows_portable import CHUNK, scoped, update_scoped

# Who a handed-off lead goes to, before the round-robin: the first of these that is set.
HANDOFF_OWNER_FALLBACK = ("owner", "parent_account__owner", "parent_contact__parent_account__owner")


def handoff_portable(*, model: ScoringModel, lead_ids: list[int] | None, now: datetime) -> tuple[int, int]:
    """Run the hand-off's three steps for `model` (all leads, or `lead_ids`); (returned, handed off)."""
    scores = LeadScore.objects.filter(model=model)
    returned = _return_fallen(scores, model=model, lead_ids=lead_ids, now=now)
    update_scoped(  # Step 2. Returned leads that fell far enough: armed again.
        scores.filter(
            handoff_state=HandoffState.RETURNED,
            score__lt=model.sales_ready_threshold - model.handoff_rearm_margin,
        ),
        lead_ids,
        handoff_state=HandoffState.ARMED,
    )
    candidates = _candidates(scores, model=model, lead_ids=lead_ids)
    if not candidates:
        return returned, 0
    owners = _owners_round_robin(candidates, now=now)
    leads_hand_off(
        leads=[(lead_id, status, owners[lead_id]) for lead_id, status, _, _ in candidates],
        reason=reason_up(model),
        now=now,
    )
    _handed_off_record(scores, candidates, owners, model=model, now=now)
    handed_off_announce(
        model=model,
        now=now,
        owner_leads=[(owners[lead_id], lead_id) for lead_id, *_ in candidates if owners[lead_id] is not None],
    )
    return returned, len(candidates)


def _return_fallen(scores, *, model: ScoringModel, lead_ids: list[int] | None, now: datetime) -> int:
    """Step 1. Handed-off leads that fell below the threshold: a 'down' crossing each, returned (or, far
    enough below, armed again); crm_core sends those still marketing_qualified back to nurture."""
    threshold = model.sales_ready_threshold
    down = scoped(
        scores.filter(handoff_state=HandoffState.HANDED_OFF, score__lt=threshold).order_by("lead_id"),
        lead_ids,
    )
    for row in down:
        rearmed = row.score < threshold - model.handoff_rearm_margin
        row.handoff_state = HandoffState.ARMED if rearmed else HandoffState.RETURNED
    LeadScore.objects.bulk_update(down, ["handoff_state"], batch_size=CHUNK)
    SalesReadyCrossing.objects.bulk_create(
        [
            SalesReadyCrossing(
                lead_id=row.lead_id,
                model=model,
                crossed_at=now,
                direction=CrossingDirection.DOWN,
                score=row.score,
            )
            for row in down
        ],
        batch_size=CHUNK,
    )
    return leads_return_to_nurture(leads=[row.lead_id for row in down], reason=reason_down(model), now=now)


def _candidates(scores, *, model: ScoringModel, lead_ids: list[int] | None) -> list[tuple]:
    """Step 3a. Armed leads at or over the threshold whose status allows it, in lead id order:
    (lead_id, status, owner by HANDOFF_OWNER_FALLBACK or None, score)."""
    return scoped(
        scores.filter(
            handoff_state=HandoffState.ARMED,
            score__gte=model.sales_ready_threshold,
            lead__status__in=[LeadStatus.NEW, LeadStatus.NURTURE],
        )
        .order_by("lead_id")
        .values_list(
            "lead_id",
            "lead__status",
            Coalesce(*(f"lead__{path}" for path in HANDOFF_OWNER_FALLBACK)),
            "score",
        ),
        lead_ids,
    )


def _owners_round_robin(candidates: list[tuple], *, now: datetime) -> dict[int, int | None]:
    """Step 3b. {lead_id: owner}: the candidate's own owner, else the sales users in turn, the one
    assigned least recently (never assigned first) taking the first lead; ties by user id."""
    owners = {lead_id: owner_id for lead_id, _, owner_id, _ in candidates}
    sales_users = sales_user_ids()
    unowned = [lead_id for lead_id, _, owner_id, _ in candidates if owner_id is None]
    if sales_users and unowned:
        last = dict(
            SalesReadyCrossing.objects.filter(direction=CrossingDirection.UP, owner_id__in=sales_users)
            .values("owner_id")
            .annotate(at=Max("crossed_at"))
            .values_list("owner_id", "at")
        )
        ranked = sorted(sales_users, key=lambda user_id: (user_id in last, last.get(user_id, now), user_id))
        for k, lead_id in enumerate(unowned):
            owners[lead_id] = ranked[k % len(ranked)]
    return owners


def _handed_off_record(scores, candidates: list[tuple], owners: dict, *, model: ScoringModel, now: datetime):
    """Step 3c. An 'up' crossing per handed-off lead, with its owner, and its score row marked handed_off."""
    SalesReadyCrossing.objects.bulk_create(
        [
            SalesReadyCrossing(
                lead_id=lead_id,
                model=model,
                crossed_at=now,
                direction=CrossingDirection.UP,
                score=score,
                owner_id=owners[lead_id],
            )
            for lead_id, _, _, score in candidates
        ],
        batch_size=CHUNK,
    )
    update_scoped(scores, [lead_id for lead_id, *_ in candidates], handoff_state=HandoffState.HANDED_OFF)
