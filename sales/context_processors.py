"""What the sales fragments need on every page: the timeline's kind filters and the time (no queries)."""

from django.utils import timezone

from .timeline import FILTERS, KINDS

TIMELINE_FILTERS = [(key, KINDS[key]) for key in FILTERS]


def sales(request):
    return {"timeline_filters": TIMELINE_FILTERS, "now": timezone.now()}
