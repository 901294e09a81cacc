"""Helpers of the segments tests."""

from segments import pending
from segments.models import SegmentMembership


def members(segment_or_id) -> set[int]:
    segment_id = getattr(segment_or_id, "pk", segment_or_id)
    return set(SegmentMembership.objects.filter(segment_id=segment_id).values_list("contact_id", flat=True))


def drain() -> list:
    """Run pending segment work until none is left."""
    from segments.incremental import segments_refresh_pending

    results = []
    for _ in range(20):
        batch = segments_refresh_pending()
        results += batch
        if not pending.dirty():
            return results
    raise AssertionError("segment work still pending after 20 runs")
