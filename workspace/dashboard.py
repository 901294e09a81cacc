"""The marketing dashboard's numbers: each one an aggregate computed by the database.

One query per table (conditional aggregation; the score histogram is counted in the leads' query)
and one for the largest live segments, so the page costs the same at ten rows and at a million.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from crm_core.models import Contact, ContactOrigin, Lead, LeadStatus, Opportunity, OpportunityStatus
from segments.selectors import segments_live_largest

# Score histogram buckets: (label, lower bound inclusive, upper bound exclusive; None = open).
SCORE_BUCKETS = (
    ("< 0", None, 0),
    ("0-24", 0, 25),
    ("25-49", 25, 50),
    ("50-74", 50, 75),
    ("75-99", 75, 100),
    ("100-149", 100, 150),
    ("150-199", 150, 200),
    ("200+", 200, None),
)

# A lead created in the period counts at a stage when its current status is at or past that stage.
REACHED_MARKETING_QUALIFIED = (
    LeadStatus.MARKETING_QUALIFIED,
    LeadStatus.SALES_ACCEPTED,
    LeadStatus.QUALIFIED,
)
REACHED_SALES_ACCEPTED = (LeadStatus.SALES_ACCEPTED, LeadStatus.QUALIFIED)


@dataclass
class Period:
    date_from: date
    date_to: date

    @property
    def start(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.date_from, time.min))

    @property
    def end(self) -> datetime:  # exclusive: the day after `date_to` begins
        return timezone.make_aware(datetime.combine(self.date_to + timedelta(days=1), time.min))

    def q(self, prefix: str = "") -> Q:
        return Q(**{f"{prefix}created_at__gte": self.start, f"{prefix}created_at__lt": self.end})


def contact_totals(period: Period) -> dict:
    """Contacts created in the period, and those of them the orphan-lead workflow made (one query)."""
    return Contact.objects.filter(period.q()).aggregate(
        contacts=Count("id"),
        orphan_workflow_contacts=Count("id", filter=Q(origin=ContactOrigin.ORPHAN_LEAD_WORKFLOW)),
    )


def _bucket_q(low: int | None, high: int | None) -> Q:
    bounds = {}
    if low is not None:
        bounds["score__gte"] = low
    if high is not None:
        bounds["score__lt"] = high
    return Q(**bounds)


def lead_totals(period: Period) -> dict:
    """Leads created in the period by how far they got and by score bucket, and orphan leads still
    unlinked (any age).

    One query, one pass over the leads: the WHERE is the period OR no parent contact, so PostgreSQL
    reads the created_at index and the partial orphan index (a BitmapOr) instead of the whole table,
    and the score histogram is counted in the same pass (`bucket_<i>`, see SCORE_BUCKETS).
    """
    in_period = period.q()
    buckets = {
        f"bucket_{index}": Count("id", filter=in_period & _bucket_q(low, high))
        for index, (_, low, high) in enumerate(SCORE_BUCKETS)
    }
    return Lead.objects.filter(in_period | Q(parent_contact__isnull=True)).aggregate(
        leads=Count("id", filter=in_period),
        marketing_qualified=Count("id", filter=in_period & Q(status__in=REACHED_MARKETING_QUALIFIED)),
        sales_accepted=Count("id", filter=in_period & Q(status__in=REACHED_SALES_ACCEPTED)),
        unlinked_orphans=Count("id", filter=Q(parent_contact__isnull=True)),
        **buckets,
    )


def opportunity_totals(period: Period) -> dict:
    return Opportunity.objects.filter(period.q()).aggregate(
        opportunities=Count("id"), won=Count("id", filter=Q(status=OpportunityStatus.WON))
    )


def score_histogram(totals: dict) -> list[dict]:
    """[{"label", "count"}] over SCORE_BUCKETS, from the counts `lead_totals` made."""
    return [{"label": label, "count": totals[f"bucket_{i}"]} for i, (label, _, _) in enumerate(SCORE_BUCKETS)]


def top_live_segments(limit: int = 10) -> list:
    """The largest live segments (segments' selector, one query)."""
    return segments_live_largest(limit=limit)


FUNNEL = (
    ("Contacts", "contacts"),
    ("Leads", "leads"),
    ("Marketing qualified", "marketing_qualified"),
    ("Sales accepted", "sales_accepted"),
    ("Opportunities", "opportunities"),
    ("Won", "won"),
)


def dashboard_numbers(period: Period) -> dict:
    totals = {**contact_totals(period), **lead_totals(period), **opportunity_totals(period)}
    histogram = score_histogram(totals)
    return {
        "totals": totals,
        "funnel": [{"label": label, "count": totals[key]} for label, key in FUNNEL],
        "histogram": histogram,
        "segments": top_live_segments(),
        "chart_data": {
            "funnel": {"labels": [label for label, _ in FUNNEL], "values": [totals[k] for _, k in FUNNEL]},
            "scores": {
                "labels": [row["label"] for row in histogram],
                "values": [row["count"] for row in histogram],
            },
        },
    }
