"""Reads of the segments app for other pages."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Segment, SegmentMembership, SegmentMembershipEvent, SegmentStatus


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


def membership_events(*, contact_ids: QuerySet | list[int]) -> QuerySet:
    """The joined/left events of these contacts (ids, or a queryset of them), unordered, as rows
    {id, change ('joined'/'left'), at, segment__name}: a queryset the caller may order, filter further
    (a keyset page on (at, id)) and slice."""
    if isinstance(contact_ids, list) and len(contact_ids) == 1:
        contacts = {"contact_id": contact_ids[0]}
    else:
        contacts = {"contact_id__in": contact_ids}
    return SegmentMembershipEvent.objects.filter(**contacts).values("id", "change", "at", "segment__name")
