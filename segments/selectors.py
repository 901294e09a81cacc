"""Reads of the segments app for other pages."""

from .models import Segment, SegmentMembership, SegmentStatus


def contact_segments(*, contact_id: int) -> list[SegmentMembership]:
    """The segments a contact is a member of now, with their names (one query)."""
    return list(
        SegmentMembership.objects.filter(contact_id=contact_id)
        .select_related("segment")
        .order_by("segment__name", "segment_id")
    )


def segments_live_largest(*, limit: int = 10) -> list[Segment]:
    """The `limit` live segments with the most members (the dashboard's list; one query)."""
    return list(
        Segment.objects.filter(status=SegmentStatus.LIVE)
        .order_by("-member_count", "name", "id")
        .only("id", "name", "kind", "member_count", "refreshed_at")[:limit]
    )
