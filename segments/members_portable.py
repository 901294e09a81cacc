"""Stored membership changed by hand, the portable ORM path of members_sql.py (the embedded SQLite
default): read who is a member, insert or delete the difference and log it, in batches."""

from __future__ import annotations

from .models import MembershipChange, SegmentMembership, SegmentMembershipEvent

BATCH = 2000


def members_join(segment_id: int, contact_ids: list[int], at) -> list[int]:
    wanted = set(contact_ids)
    present = set(
        SegmentMembership.objects.filter(segment_id=segment_id, contact_id__in=list(wanted)).values_list(
            "contact_id", flat=True
        )
    )
    joined = sorted(wanted - present)
    SegmentMembership.objects.bulk_create(
        [SegmentMembership(segment_id=segment_id, contact_id=c, added_at=at) for c in joined],
        ignore_conflicts=True,
        batch_size=BATCH,
    )
    _log(segment_id, joined, MembershipChange.JOINED, at)
    return joined


def members_leave(segment_id: int, contact_ids: list[int], at) -> list[int]:
    members = SegmentMembership.objects.filter(segment_id=segment_id, contact_id__in=list(set(contact_ids)))
    leaving = sorted(members.values_list("contact_id", flat=True))
    SegmentMembership.objects.filter(segment_id=segment_id, contact_id__in=leaving).delete()
    _log(segment_id, leaving, MembershipChange.LEFT, at)
    return leaving


def _log(segment_id: int, contact_ids: list[int], change: str, at) -> None:
    SegmentMembershipEvent.objects.bulk_create(
        [
            SegmentMembershipEvent(segment_id=segment_id, contact_id=c, change=change, at=at)
            for c in contact_ids
        ],
        batch_size=BATCH,
    )
