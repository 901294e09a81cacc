"""Reads of lead scoring for other apps' pages (they never query lead scoring's tables themselves)."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import SalesReadyCrossing, ScoringModel


def scoring_model_primary() -> ScoringModel | None:
    """The primary scoring model (the one whose score the leads carry), or None when none is set up."""
    return ScoringModel.objects.filter(is_primary=True).first()


def sales_ready_crossings(*, lead_ids: QuerySet | list[int]) -> QuerySet:
    """The sales-ready crossings of these leads (ids, or a queryset of them), unordered, as rows
    {id, direction ('up'/'down'), score, crossed_at, model__name, lead__topic}: a queryset the caller
    may order, filter further (a keyset page on (crossed_at, id)) and slice."""
    if isinstance(lead_ids, list) and len(lead_ids) == 1:
        leads = {"lead_id": lead_ids[0]}
    else:
        leads = {"lead_id__in": lead_ids}
    return SalesReadyCrossing.objects.filter(**leads).values(
        "id", "direction", "score", "crossed_at", "model__name", "lead__topic"
    )
