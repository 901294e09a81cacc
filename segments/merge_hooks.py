"""What the segments app does when two contacts merge (crm_core.services.merge finds this module).

Static segments the other contact was in keep the person: the survivor joins them. The other
contact leaves every segment it was in, each change logged as joins and leaves are, through the
services' membership writers. The survivor's place in dynamic segments follows from the merge's
change notices (the segments' normal change path: crm_core.events -> segments.freshness), which
re-evaluate it with its merged data.
"""

from .models import SegmentKind, SegmentMembership
from .services import segment_members_add, segment_members_remove


def merge_contacts(*, survivor, other, actor=None) -> dict:
    memberships = SegmentMembership.objects.filter(contact_id=other.pk).order_by("segment_id")
    static_ids = list(
        memberships.filter(segment__kind=SegmentKind.STATIC).values_list("segment_id", flat=True)
    )
    segment_ids = list(memberships.values_list("segment_id", flat=True))
    # One call per segment the other contact was in (a person is in a handful, not in thousands).
    joined = sum(segment_members_add(segment_id=pk, contact_ids=[survivor.pk]) for pk in static_ids)
    left = sum(segment_members_remove(segment_id=pk, contact_ids=[other.pk]) for pk in segment_ids)
    return {
        "static_segment_memberships": len(static_ids),
        "static_segments_joined": joined,
        "segment_memberships_left": left,
    }
