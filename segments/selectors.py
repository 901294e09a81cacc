"""Reads of the segments app for other pages."""

from .models import SegmentMembership


def contact_segments(*, contact_id: int) -> list[SegmentMembership]:
    """The segments a contact is a member of now, with their names (one query)."""
    return list(
        SegmentMembership.objects.filter(contact_id=contact_id)
        .select_related("segment")
        .order_by("segment__name", "segment_id")
    )
