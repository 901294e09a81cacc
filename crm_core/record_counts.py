"""Records created in a time range, counted without reading the records: the dashboard's numbers.

`created_totals(start, end)` answers, for contacts, leads and opportunities created in [start, end):
how many, contacts the orphan-lead workflow made, leads at or past marketing qualified and sales
accepted, leads per score bucket (SCORE_BUCKETS), opportunities and won ones; and the orphan leads
still without a contact (any age).

PostgreSQL (`postgres_sql()`): the whole UTC days of the range are summed from `RecordCount` (kept by
triggers, migration 0015) in one query of a few rows per day; the parts of a day at either end (a
period in a time zone other than UTC) are counted from the records by their created_at index, at
most a day's rows on each side. The portable path counts the records directly (one query per table).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce

from .models import (
    SCORE_BUCKETS,
    Contact,
    ContactOrigin,
    CountedEntity,
    Lead,
    LeadStatus,
    Opportunity,
    OpportunityStatus,
    RecordCount,
)
from .sqlpath import postgres_sql

# A lead created in the period counts at a stage when its current status is at or past that stage.
REACHED_MARKETING_QUALIFIED = (
    LeadStatus.MARKETING_QUALIFIED,
    LeadStatus.SALES_ACCEPTED,
    LeadStatus.QUALIFIED,
)
REACHED_SALES_ACCEPTED = (LeadStatus.SALES_ACCEPTED, LeadStatus.QUALIFIED)

TOTALS = (
    "contacts",
    "orphan_workflow_contacts",
    "leads",
    "marketing_qualified",
    "sales_accepted",
    *(f"bucket_{index}" for index in range(len(SCORE_BUCKETS))),
    "opportunities",
    "won",
)


def created_totals(start: datetime, end: datetime) -> dict:
    """The counts (TOTALS keys and `unlinked_orphans`) of records created in [start, end)."""
    if not postgres_sql():
        return {**_counted(start, end), "unlinked_orphans": Lead.objects.filter(parent_contact=None).count()}
    first_day, end_day = _whole_utc_days(start, end)
    if first_day >= end_day:  # less than one whole UTC day: count the records themselves
        return {**_counted(start, end), "unlinked_orphans": _summed(first_day, first_day)["unlinked_orphans"]}
    totals = _summed(first_day, end_day)
    for piece_start, piece_end in ((start, _midnight(first_day)), (_midnight(end_day), end)):
        if piece_start < piece_end:
            piece = _counted(piece_start, piece_end)
            totals = {key: totals[key] + piece.get(key, 0) for key in totals}
    return totals


def _midnight(day) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _whole_utc_days(start: datetime, end: datetime):
    """(first, end) UTC days such that [first 00:00, end 00:00) UTC is the largest part of
    [start, end) made of whole UTC days (first >= end: none)."""
    start_utc, end_utc = start.astimezone(UTC), end.astimezone(UTC)
    first = (
        start_utc.date()
        if start_utc.timetz() == time.min.replace(tzinfo=UTC)
        else start_utc.date() + timedelta(1)
    )
    return first, end_utc.date()


def _summed(first_day, end_day) -> dict:
    """The counts of the UTC days [first_day, end_day) and the unlinked orphans, from RecordCount."""
    in_days = Q(day__gte=first_day, day__lt=end_day)
    orphans = Q(entity=CountedEntity.LEAD, flag=True)
    contact = in_days & Q(entity=CountedEntity.CONTACT)
    lead = in_days & Q(entity=CountedEntity.LEAD)
    opportunity = in_days & Q(entity=CountedEntity.OPPORTUNITY)
    filters = {
        "contacts": contact,
        "orphan_workflow_contacts": contact & Q(flag=True),
        "leads": lead,
        "marketing_qualified": lead & Q(status__in=REACHED_MARKETING_QUALIFIED),
        "sales_accepted": lead & Q(status__in=REACHED_SALES_ACCEPTED),
        **{f"bucket_{index}": lead & Q(score_bucket=index) for index in range(len(SCORE_BUCKETS))},
        "opportunities": opportunity,
        "won": opportunity & Q(status=OpportunityStatus.WON),
        "unlinked_orphans": orphans,
    }
    return RecordCount.objects.filter(in_days | orphans).aggregate(
        **{key: Coalesce(Sum("n", filter=condition), 0) for key, condition in filters.items()}
    )


def _bucket_q(low: int | None, high: int | None) -> Q:
    bounds = {}
    if low is not None:
        bounds["score__gte"] = low
    if high is not None:
        bounds["score__lt"] = high
    return Q(**bounds)


def _counted(start: datetime, end: datetime) -> dict:
    """The TOTALS of records created in [start, end), counted from the records (one query per table,
    each reading its created_at index range)."""
    in_range = Q(created_at__gte=start, created_at__lt=end)
    contacts = Contact.objects.filter(in_range).aggregate(
        contacts=Count("id"),
        orphan_workflow_contacts=Count("id", filter=Q(origin=ContactOrigin.ORPHAN_LEAD_WORKFLOW)),
    )
    buckets = {
        f"bucket_{index}": Count("id", filter=_bucket_q(low, high))
        for index, (_, low, high) in enumerate(SCORE_BUCKETS)
    }
    leads = Lead.objects.filter(in_range).aggregate(
        leads=Count("id"),
        marketing_qualified=Count("id", filter=Q(status__in=REACHED_MARKETING_QUALIFIED)),
        sales_accepted=Count("id", filter=Q(status__in=REACHED_SALES_ACCEPTED)),
        **buckets,
    )
    opportunities = Opportunity.objects.filter(in_range).aggregate(
        opportunities=Count("id"), won=Count("id", filter=Q(status=OpportunityStatus.WON))
    )
    return {**contacts, **leads, **opportunities}
