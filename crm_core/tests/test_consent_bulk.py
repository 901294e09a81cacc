"""Set-based consent writes for many contacts (what journey steps call): every real change leaves a
ConsentChange and a change notice, memberships are never deleted, and the statements stay few
whatever the batch size."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm_core import consent, events
from crm_core.models import ConsentChange, ConsentSource, Contact, ListMembership, SubscriptionStatus
from crm_core.tests.factories import ContactFactory, ListMembershipFactory, SubscriptionListFactory

pytestmark = pytest.mark.django_db

JOURNEY = ConsentSource.JOURNEY


@pytest.fixture
def notices():
    """The change notices sent while the test runs (after the commits it runs)."""
    received: list[events.RecordsChanged] = []

    def receiver(sender, *, change, **kwargs):
        received.append(change)

    events.records_changed.connect(receiver, weak=False, dispatch_uid="test.consent_bulk")
    yield received
    events.records_changed.disconnect(dispatch_uid="test.consent_bulk")


def _trail():
    return sorted(
        ConsentChange.objects.values_list("contact_id", "field", "old_value", "new_value", "source")
    )


def test_a_consent_field_set_on_many_contacts_records_only_the_real_changes(
    django_capture_on_commit_callbacks, notices
):
    already = ContactFactory(do_not_bulk_email=True)
    others = ContactFactory.create_batch(3)
    with django_capture_on_commit_callbacks(execute=True):
        changed = consent.contacts_field_set(
            contact_ids=[already.pk, *(c.pk for c in others), others[0].pk],
            field="do_not_bulk_email",
            value=True,
            source=JOURNEY,
        )
    ids = sorted(c.pk for c in others)
    assert changed == ids
    assert _trail() == [(pk, "do_not_bulk_email", "False", "True", "journey") for pk in ids]
    assert Contact.objects.filter(do_not_bulk_email=True).count() == 4
    assert notices == [
        events.RecordsChanged(
            entity="contact",
            action="updated",
            ids=frozenset(ids),
            contact_ids=frozenset(ids),
            fields=frozenset({"do_not_bulk_email"}),
        )
    ]
    # Run again: nothing changes, nothing is recorded.
    assert (
        consent.contacts_field_set(contact_ids=ids, field="do_not_bulk_email", value=True, source=JOURNEY)
        == []
    )
    assert ConsentChange.objects.count() == 3


def test_a_profile_field_set_on_many_contacts_writes_only_the_rows_that_differ():
    same = ContactFactory(country="France")
    other = ContactFactory(country="Germany")
    stamp = Contact.objects.get(pk=same.pk).updated_at
    changed = consent.contacts_field_set(
        contact_ids=[same.pk, other.pk], field="country", value="France", source=JOURNEY
    )
    assert changed == [other.pk]
    assert set(Contact.objects.values_list("country", flat=True)) == {"France"}
    assert Contact.objects.get(pk=same.pk).updated_at == stamp
    assert not ConsentChange.objects.exists()


def test_fields_outside_the_allowed_ones_and_bad_values_are_refused():
    contact = ContactFactory()
    for field in ("email", "owner", "marketing_only", "created_at"):
        with pytest.raises(ValueError, match=field):
            consent.contacts_field_set(contact_ids=[contact.pk], field=field, value="x", source=JOURNEY)
    with pytest.raises(ValidationError):
        consent.contacts_field_set(contact_ids=[contact.pk], field="job_role", value="wizard", source=JOURNEY)


def _statements(write, contacts) -> int:
    with CaptureQueriesContext(connection) as queries:
        write([c.pk for c in contacts])
    return len(queries)


@pytest.mark.parametrize(
    "write",
    [
        lambda ids: consent.contacts_field_set(
            contact_ids=ids, field="do_not_email", value=True, source=JOURNEY
        ),
        lambda ids: consent.contacts_field_set(contact_ids=ids, field="city", value="Lyon", source=JOURNEY),
    ],
    ids=["consent field", "profile field"],
)
def test_field_set_statements_do_not_grow_with_the_batch(write):
    assert _statements(write, ContactFactory.create_batch(2)) == _statements(
        write, ContactFactory.create_batch(40)
    )


@pytest.mark.parametrize("subscribed", [True, False], ids=["add", "remove"])
def test_list_membership_statements_do_not_grow_with_the_batch(subscribed):
    newsletter = SubscriptionListFactory()

    def batch(size):
        contacts = ContactFactory.create_batch(size)
        for contact in contacts[: size // 2]:  # half are members already (the other status), half new
            status = SubscriptionStatus.UNSUBSCRIBED if subscribed else SubscriptionStatus.SUBSCRIBED
            ListMembershipFactory(contact=contact, subscription_list=newsletter, status=status)
        return contacts

    def write(ids):
        consent.list_memberships_set(
            contact_ids=ids,
            subscription_list_id=newsletter.pk,
            subscribed=subscribed,
            source=JOURNEY,
            resubscribe=True,
        )

    small, large = batch(2), batch(40)
    assert _statements(write, small) == _statements(write, large)


def test_leaving_a_list_marks_memberships_unsubscribed_and_records_each_real_change(
    django_capture_on_commit_callbacks, notices
):
    newsletter, other_list = SubscriptionListFactory(), SubscriptionListFactory()
    member = ListMembershipFactory(subscription_list=newsletter).contact
    gone = ListMembershipFactory(subscription_list=newsletter, status=SubscriptionStatus.UNSUBSCRIBED).contact
    stranger = ContactFactory()
    ListMembershipFactory(subscription_list=other_list, contact=member)
    with django_capture_on_commit_callbacks(execute=True):
        changed = consent.list_memberships_set(
            contact_ids=[member.pk, gone.pk, stranger.pk],
            subscription_list_id=newsletter.pk,
            subscribed=False,
            source=JOURNEY,
        )
    assert changed == sorted([member.pk, stranger.pk])
    rows = ListMembership.objects.filter(subscription_list=newsletter)
    assert {(m.contact_id, m.status) for m in rows} == {
        (member.pk, "unsubscribed"),
        (gone.pk, "unsubscribed"),
        (stranger.pk, "unsubscribed"),
    }
    assert rows.get(contact=member).unsubscribed_at is not None
    assert rows.get(contact=stranger).unsubscribed_at is not None
    assert ListMembership.objects.get(subscription_list=other_list).status == "subscribed"
    assert _trail() == sorted(
        [
            (member.pk, "list", "subscribed", "unsubscribed", "journey"),
            (stranger.pk, "list", "", "unsubscribed", "journey"),
        ]
    )
    assert set(ConsentChange.objects.values_list("subscription_list_id", flat=True)) == {newsletter.pk}
    by_action = {c.action: c for c in notices}
    assert {c.entity for c in notices} == {"subscription"}
    assert by_action["updated"].contact_ids == {member.pk}
    assert by_action["updated"].ids == {rows.get(contact=member).pk}
    assert by_action["created"].contact_ids == {stranger.pk}
    assert by_action["created"].ids == {rows.get(contact=stranger).pk}


def test_joining_a_list_never_brings_back_who_left_it_unless_asked():
    newsletter = SubscriptionListFactory()
    left = ListMembershipFactory(subscription_list=newsletter, status=SubscriptionStatus.UNSUBSCRIBED).contact
    member = ListMembershipFactory(subscription_list=newsletter).contact
    new = ContactFactory()
    ids = [left.pk, member.pk, new.pk]
    changed = consent.list_memberships_set(
        contact_ids=ids, subscription_list_id=newsletter.pk, subscribed=True, source=JOURNEY
    )
    assert changed == [new.pk]
    statuses = dict(ListMembership.objects.values_list("contact_id", "status"))
    assert statuses == {left.pk: "unsubscribed", member.pk: "subscribed", new.pk: "subscribed"}
    assert ListMembership.objects.get(contact=new).subscribed_at is not None
    assert _trail() == [(new.pk, "list", "", "subscribed", "journey")]

    again = consent.list_memberships_set(
        contact_ids=ids,
        subscription_list_id=newsletter.pk,
        subscribed=True,
        source=ConsentSource.API,
        resubscribe=True,
    )
    assert again == [left.pk]
    assert ListMembership.objects.get(contact=left).status == "subscribed"


def test_a_list_that_is_gone_gets_no_memberships():
    contact = ContactFactory()
    assert (
        consent.list_memberships_set(
            contact_ids=[contact.pk], subscription_list_id=987654, subscribed=True, source=JOURNEY
        )
        == []
    )
    assert not ListMembership.objects.exists() and not ConsentChange.objects.exists()
