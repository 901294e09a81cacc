"""The marketing dashboard's numbers.

The counts come from crm_core's `created_totals` (on PostgreSQL one query over the per-day record
counts that triggers keep exact, never a read of the records themselves; on the portable path one
aggregate per table), the segments from one query for the largest live ones, so the page costs the
same at ten rows and at a million.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from crm_core.models import SCORE_BUCKETS
from crm_core.record_counts import created_totals
from segments.selectors import segments_live_largest


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


def score_histogram(totals: dict) -> list[dict]:
    """[{"label", "count"}] over SCORE_BUCKETS, from the counts `created_totals` made."""
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
    totals = created_totals(period.start, period.end)
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
