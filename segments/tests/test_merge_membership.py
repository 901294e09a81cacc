"""A merge reaches live segments through their normal change path: the merged-away contact leaves
(logged), and the survivor, now holding the other's lead, is evaluated again incrementally."""

from crm_core.services import contacts_merge
from crm_core.tests.factories import ContactFactory, LeadFactory
from segments.examples import CONTOSO_DECISION_MAKERS as CONTOSO
from segments.models import SegmentMembershipEvent
from segments.services import segment_create, segment_go_live

from .support import drain, members


def test_the_survivor_joins_through_the_change_path_and_the_other_leaves(freshness):
    keep = ContactFactory(job_role="decision_maker")
    gone = ContactFactory(job_role="decision_maker")
    LeadFactory(parent_contact=gone, topic="Contoso Ltd Conference")
    segment = segment_go_live(segment=segment_create(name="Contoso decision makers", definition=CONTOSO))
    drain()
    assert members(segment) == {gone.pk}

    contacts_merge(survivor_id=keep.pk, other_id=gone.pk)
    assert members(segment) == set()  # the other left in the merge's transaction
    [result] = drain()
    assert (result.full, result.added) == (False, 1) and members(segment) == {keep.pk}
    logged = SegmentMembershipEvent.objects.filter(segment=segment).order_by("id")
    assert list(logged.values_list("contact_id", "change")) == [
        (gone.pk, "joined"), (gone.pk, "left"), (keep.pk, "joined")]  # fmt: skip
