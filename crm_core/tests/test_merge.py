"""Merging two contacts keeps every related record (nothing lost, nothing twice) and the strictest
consent, on PostgreSQL and on the portable path (the merge itself is plain ORM statements)."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from conftest import rerun_on_sqlite
from crm_core.models import (
    AuditLog,
    ConsentChange,
    ConsentLevel,
    ConsentSource,
    Contact,
    EventRegistration,
    Interaction,
    Lead,
    ListMembership,
    MergedContact,
    Opportunity,
    SubscriptionStatus,
)
from crm_core.privacy import contact_erase, contact_export_data
from crm_core.services import contact_get_or_create_by_email, contacts_merge, merge_survivor
from crm_core.tests.factories import (
    AccountFactory,
    ContactFactory,
    EventFactory,
    InteractionFactory,
    LeadFactory,
    MarketerFactory,
    OpportunityFactory,
    SubscriptionListFactory,
)
from journeys.models import Enrollment
from journeys.tests.factories import make_journey, send_email_step
from landing.models import FormSubmission
from landing.tests.factories import LandingPageFactory
from sales.models import Activity, Task
from segments.models import Segment, SegmentKind, SegmentMembership, SegmentMembershipEvent

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture(params=["postgresql", "portable"])
def path(request):
    if request.param == "portable":
        request.getfixturevalue("portable_path")
    return request.param


def _two_people():
    now = timezone.now()
    keep = ContactFactory(first_name="Ann", last_name="", phone="", email="ann@a.test", city="",
                          consent_level=ConsentLevel.PROFILING, do_not_bulk_email=False, track_email=True,
                          allow_prefill=True, custom={"tier": "gold"})  # fmt: skip
    gone = ContactFactory(first_name="Annie", last_name="Lee", phone="555", email="ann@b.test", city="Oslo",
                          parent_account=AccountFactory(), consent_level=ConsentLevel.MARKETING,
                          do_not_bulk_email=True, track_email=True, allow_prefill=False,
                          custom={"tier": "silver", "size": 5})  # fmt: skip
    shared, theirs_only, ours_only = (
        SubscriptionListFactory(),
        SubscriptionListFactory(),
        SubscriptionListFactory(),
    )
    lists = [(keep, shared, "subscribed"), (gone, shared, "unsubscribed"),
             (gone, theirs_only, "subscribed"), (keep, ours_only, "subscribed")]  # fmt: skip
    for contact, lst, status in lists:
        ListMembership.objects.create(
            contact=contact, subscription_list=lst, status=status, subscribed_at=now
        )
    both_event = EventFactory()
    EventRegistration.objects.create(event=both_event, contact=keep, registered_at=now)
    EventRegistration.objects.create(event=both_event, contact=gone, registered_at=now, attended=True)
    EventRegistration.objects.create(event=EventFactory(), contact=gone, registered_at=now)
    for contact in (keep, gone, gone):
        LeadFactory(parent_contact=contact)
        InteractionFactory(contact=contact)
    OpportunityFactory(contact=gone)
    ConsentChange.objects.create(contact=gone, field="do_not_bulk_email", old_value="False", new_value="True",
                                 source=ConsentSource.API, changed_at=now)  # fmt: skip
    static_both = Segment.objects.create(name="both", kind=SegmentKind.STATIC)
    static_theirs = Segment.objects.create(name="theirs", kind=SegmentKind.STATIC)
    for segment, contact in [(static_both, keep), (static_both, gone), (static_theirs, gone)]:
        SegmentMembership.objects.create(segment=segment, contact=contact, added_at=now)
    journeys = [make_journey(name=f"J{n}", steps=[send_email_step()]) for n in range(3)]
    for journey, contact, seq in [(journeys[0], keep, 1), (journeys[0], gone, 3), (journeys[1], keep, 2),
                                  (journeys[1], gone, 2), (journeys[2], gone, 0)]:  # fmt: skip
        Enrollment.objects.create(
            journey=journey, contact=contact, seq=seq, entered_at=now, step_started_at=now
        )
    Task.objects.create(contact=gone, title="Call", created_at=now)
    Activity.objects.create(contact=gone, kind="note", subject="Met", occurred_at=now)
    FormSubmission.objects.create(page=LandingPageFactory(), contact=gone, received_at=now)
    return keep, gone


COUNTED = {
    "leads": Lead.objects,
    "interactions": Interaction.objects,
    "opportunities": Opportunity.objects,
    "consent_changes": ConsentChange.objects,
    "tasks": Task.objects,
    "activities": Activity.objects,
    "submissions": FormSubmission.objects,
    "registrations": EventRegistration.objects,
    "memberships": ListMembership.objects,
    "segment_memberships": SegmentMembership.objects,
    "enrollments": Enrollment.objects,
}


def _counts(contact_ids):
    field = {"leads": "parent_contact_id", "segment_memberships": "contact_id"}
    return {
        name: manager.filter(**{f"{field.get(name, 'contact_id')}__in": contact_ids}).count()
        for name, manager in COUNTED.items()
    }


def test_merging_keeps_every_related_record_and_the_strictest_consent(path):
    keep, gone = _two_people()
    actor = MarketerFactory()
    before = _counts([keep.pk, gone.pk])
    details = contacts_merge(survivor_id=keep.pk, other_id=gone.pk, actor=actor)

    assert not Contact.objects.filter(pk=gone.pk).exists()
    after = _counts([keep.pk])
    assert _counts([gone.pk]) == dict.fromkeys(COUNTED, 0)
    # Each row of the other moved; rows both had once per contact became one.
    once_per_contact = {"registrations": 1, "memberships": 1, "segment_memberships": 1, "enrollments": 2}
    expected_new_consent = 3  # consent_level, do_not_bulk_email, allow_prefill, + the shared list
    for name, count in before.items():
        extra = expected_new_consent + 1 if name == "consent_changes" else 0
        assert after[name] == count - once_per_contact.get(name, 0) + extra, name
    # The survivor keeps its values and fills its empty ones.
    keep.refresh_from_db()
    assert (keep.first_name, keep.last_name, keep.phone, keep.email, keep.city) == (
        "Ann",
        "Lee",
        "555",
        "ann@a.test",
        "Oslo",
    )
    assert keep.parent_account_id == gone.parent_account_id
    assert keep.custom == {"tier": "gold", "size": 5}
    # The strictest consent, each change on the record.
    assert (keep.consent_level, keep.do_not_bulk_email, keep.allow_prefill, keep.track_email) == (
        ConsentLevel.MARKETING, True, False, True)  # fmt: skip
    merged = ConsentChange.objects.filter(contact=keep, source=ConsentSource.MERGE)
    assert sorted(merged.values_list("field", flat=True)) == [
        "allow_prefill",
        "consent_level",
        "do_not_bulk_email",
        "list",
    ]
    shared = ListMembership.objects.get(contact=keep, subscription_list__in=gone_lists(gone.pk, keep.pk))
    assert shared.status == SubscriptionStatus.UNSUBSCRIBED
    assert EventRegistration.objects.filter(contact=keep, attended=True).count() == 1
    # One enrollment per journey, the one further along; the other segment memberships logged leaving.
    assert sorted(Enrollment.objects.filter(contact=keep).values_list("journey__name", "seq")) == [
        ("J0", 3), ("J1", 2), ("J2", 0)]  # fmt: skip
    assert SegmentMembershipEvent.objects.filter(contact_id=gone.pk, change="left").count() == 2
    # The audit entry and the pointer.
    audit = AuditLog.objects.get(action="contact.merge")
    assert (audit.actor, audit.object_id, audit.details["merged"]) == (actor, str(keep.pk), gone.pk)
    assert audit.details == details and details["moved"]["leads"] == 2
    assert merge_survivor(gone.pk) == keep.pk


def gone_lists(gone_id, keep_id):
    """The list both contacts were on (the survivor still has exactly one such row)."""
    events = ConsentChange.objects.filter(contact_id=keep_id, field="list", source=ConsentSource.MERGE)
    return events.values("subscription_list_id")


def test_chains_resolve_and_refusals(path):
    a, b, c = ContactFactory(), ContactFactory(), ContactFactory()
    contacts_merge(survivor_id=b.pk, other_id=a.pk)
    contacts_merge(survivor_id=c.pk, other_id=b.pk)
    assert (merge_survivor(a.pk), merge_survivor(b.pk), merge_survivor(c.pk)) == (c.pk, c.pk, None)
    assert MergedContact.objects.count() == 2
    for survivor, other, message in [
        (c.pk, c.pk, "cannot be merged with itself"),
        (c.pk, a.pk, f"already merged into contact {c.pk}"),
        (c.pk, 10**12, "There is no contact"),
        (c.pk, "x", "whole number"),
    ]:
        with pytest.raises(ValidationError) as refused:
            contacts_merge(survivor_id=survivor, other_id=other)
        assert message in str(refused.value.message_dict)
    assert Contact.objects.filter(pk=c.pk).exists()


def test_the_old_address_finds_the_survivor_until_the_survivor_is_erased(path):
    keep, gone = ContactFactory(email="keep@x.test"), ContactFactory(email="gone@x.test")
    contacts_merge(survivor_id=keep.pk, other_id=gone.pk)
    found, created = contact_get_or_create_by_email(email=" GONE@x.test ")
    assert (found.pk, created) == (keep.pk, False)
    assert contact_export_data(contact=keep)["related"]["crm_core.mergedcontact"][0]["email"] == "gone@x.test"
    assert contact_erase(contact=keep)["merged_emails_erased"] == 1
    assert MergedContact.objects.get(merged_id=gone.pk).email is None
    assert merge_survivor(gone.pk) == keep.pk


def test_the_merge_holds_on_sqlite(tmp_path):
    run = rerun_on_sqlite(tmp_path, __file__, leave_out="test_the_merge_holds_on_sqlite")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert connection.vendor == "postgresql" and "6 passed" in run.stdout, run.stdout[-2000:]
