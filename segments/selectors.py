"""Reads of the segments app for other pages."""

from __future__ import annotations

from datetime import datetime

from django.db.models import F, QuerySet

from .models import Segment, SegmentKind, SegmentMembership, SegmentMembershipEvent, SegmentStatus


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


def segment_member_ids(*, segment_id: int) -> QuerySet:
    """Current members of a segment, as a queryset of contact ids (usable in `id__in`)."""
    return SegmentMembership.objects.filter(segment_id=segment_id).values_list("contact_id", flat=True)


def segment_joins_since(*, segment_id: int, since: datetime | None) -> QuerySet:
    """Members who joined at or after `since` (all members when None): rows of contact_id, joined_at."""
    members = SegmentMembership.objects.filter(segment_id=segment_id)
    if since is not None:
        members = members.filter(added_at__gte=since)
    return members.annotate(joined_at=F("added_at")).values("contact_id", "joined_at")


def segment_choice_rows(*, limit: int = 500) -> list[tuple[int, str, str, str, int]]:
    """(id, name, kind, status, member count) of every segment by name: for other apps' pickers."""
    return list(
        Segment.objects.order_by("name", "id").values_list("pk", "name", "kind", "status", "member_count")[
            :limit
        ]
    )


def static_segment_exists(*, segment_id: int) -> bool:
    return Segment.objects.filter(pk=segment_id, kind=SegmentKind.STATIC).exists()
