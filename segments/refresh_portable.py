"""The embedded default (SQLite): the membership refresh of refresh_sql.py through the ORM.

The same algorithm, read straight through: the matching contacts (of `contact_ids` only, when
given) against the stored members, then one bulk insert, one delete, the logged joins and leaves
and the segment's member count.
"""

from __future__ import annotations

from django.db.models import F

from .models import MembershipChange, Segment, SegmentMembership, SegmentMembershipEvent

BATCH = 500


def _chunks(ids: list[int]):
    for start in range(0, len(ids), BATCH):
        yield ids[start : start + BATCH]


def membership_diff(
    *, segment_id: int, members, now, contact_ids: list[int] | None, changed_limit: int
) -> tuple[int, int, list[int] | None, int | None]:
    """(added, removed, the contacts that joined or left or None when more than `changed_limit`, the
    member count now stored or None when it was left as it was)."""
    members = members.order_by()
    stored = SegmentMembership.objects.filter(segment_id=segment_id)
    if contact_ids is None:
        wanted = set(members.values_list("pk", flat=True))
        current = set(stored.values_list("contact_id", flat=True))
    else:
        wanted, current = set(), set()
        for chunk in _chunks(sorted(set(contact_ids))):
            wanted.update(members.filter(pk__in=chunk).values_list("pk", flat=True))
            current.update(stored.filter(contact_id__in=chunk).values_list("contact_id", flat=True))
    joined, left = sorted(wanted - current), sorted(current - wanted)
    SegmentMembership.objects.bulk_create(
        [SegmentMembership(segment_id=segment_id, contact_id=c, added_at=now) for c in joined],
        batch_size=BATCH,
    )
    for chunk in _chunks(left):
        stored.filter(contact_id__in=chunk).delete()
    SegmentMembershipEvent.objects.bulk_create(
        [SegmentMembershipEvent(segment_id=segment_id, contact_id=c, change=MembershipChange.JOINED, at=now)
         for c in joined]
        + [SegmentMembershipEvent(segment_id=segment_id, contact_id=c, change=MembershipChange.LEFT, at=now)
           for c in left],
        batch_size=BATCH,
    )  # fmt: skip
    changed = joined + left
    member_count = None
    segment = Segment.objects.filter(pk=segment_id)
    if contact_ids is None:
        member_count = len(wanted)
        segment.update(member_count=member_count)
    elif changed:
        segment.update(member_count=F("member_count") + len(joined) - len(left))
        member_count = segment.values_list("member_count", flat=True).first()
    return len(joined), len(left), changed if len(changed) <= changed_limit else None, member_count
