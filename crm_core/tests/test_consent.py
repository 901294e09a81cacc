"""crm_core.consent: who may get marketing email or be tracked, with reasons; the Q filter agrees."""

import itertools

import pytest

from crm_core import consent
from crm_core.models import ConsentChange, ConsentLevel, ConsentSource, Contact, SubscriptionStatus
from crm_core.tests.factories import ContactFactory, ListMembershipFactory, SubscriptionListFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({}, None),
        ({"email": None}, consent.NO_EMAIL),
        ({"do_not_email": True}, consent.DO_NOT_EMAIL),
        ({"do_not_bulk_email": True}, consent.DO_NOT_BULK_EMAIL),
        ({"consent_level": ConsentLevel.TRANSACTIONAL}, consent.CONSENT_TOO_LOW),
        ({"is_minor": True}, consent.MINOR_WITHOUT_GUARDIAN_CONSENT),
        ({"is_minor": True, "guardian_consent": True}, None),
    ],
)
def test_marketing_email_decision_gives_the_reason(fields, reason):
    contact = ContactFactory(**{"consent_level": ConsentLevel.MARKETING, **fields})
    decision = consent.marketing_email_decision(contact)
    assert decision.allowed is (reason is None)
    assert decision.reason == reason
    assert bool(decision.message) is (reason is not None)


def test_the_required_minimum_is_respected():
    contact = ContactFactory(consent_level=ConsentLevel.MARKETING)
    assert consent.marketing_email_decision(contact, minimum_level=ConsentLevel.MARKETING)
    assert consent.marketing_email_decision(contact, minimum_level=ConsentLevel.PROFILING).reason == (
        consent.CONSENT_TOO_LOW
    )


def test_leaving_a_list_blocks_that_lists_email_only():
    contact = ContactFactory()
    left, other = SubscriptionListFactory(), SubscriptionListFactory()
    ListMembershipFactory(contact=contact, subscription_list=left, status=SubscriptionStatus.UNSUBSCRIBED)
    assert (
        consent.marketing_email_decision(contact, subscription_list=left).reason
        == consent.UNSUBSCRIBED_FROM_LIST
    )
    assert consent.marketing_email_decision(contact, subscription_list=other).allowed
    assert (
        consent.marketing_email_decision(contact, subscription_list=other, require_subscription=True).reason
        == consent.NOT_SUBSCRIBED_TO_LIST
    )


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"consent_level": ConsentLevel.TRACKING}, None),
        ({"consent_level": ConsentLevel.TRACKING, "track_email": False}, consent.TRACKING_OFF),
        ({"consent_level": ConsentLevel.MARKETING}, consent.CONSENT_TOO_LOW),
        ({"consent_level": ConsentLevel.PROFILING, "is_minor": True}, consent.MINOR_WITHOUT_GUARDIAN_CONSENT),
    ],
)
def test_tracking_decision(fields, reason):
    assert consent.tracking_decision(ContactFactory(**fields)).reason == reason


def test_the_set_based_filters_agree_with_the_per_contact_decisions():
    subscription_list = SubscriptionListFactory()
    flags = ["do_not_email", "do_not_bulk_email", "is_minor", "guardian_consent", "track_email"]
    contacts = []
    for n, (values, level, membership) in enumerate(
        itertools.product(
            itertools.product([False, True], repeat=len(flags)),
            [ConsentLevel.NOT_SET, ConsentLevel.MARKETING, ConsentLevel.TRACKING],
            [None, SubscriptionStatus.SUBSCRIBED, SubscriptionStatus.UNSUBSCRIBED],
        )
    ):
        contact = ContactFactory(email=None if n % 17 == 0 else f"m{n}@example.com", consent_level=level,
                                 **dict(zip(flags, values, strict=True)))  # fmt: skip
        if membership:
            ListMembershipFactory(contact=contact, subscription_list=subscription_list, status=membership)
        contacts.append(contact)

    for kwargs in ({}, {"subscription_list": subscription_list}, {"subscription_list": subscription_list,
                                                                  "require_subscription": True}):  # fmt: skip
        expected = {c.pk for c in contacts if consent.marketing_email_decision(c, **kwargs)}
        assert set(
            Contact.objects.filter(consent.marketing_email_allowed_q(**kwargs)).values_list("pk", flat=True)
        ) == (expected)
        assert expected  # the matrix includes allowed contacts, so agreement is not vacuous
    tracked = {c.pk for c in contacts if consent.tracking_decision(c)}
    assert set(Contact.objects.filter(consent.tracking_allowed_q()).values_list("pk", flat=True)) == tracked


def test_preference_updates_record_only_real_changes():
    contact = ContactFactory(do_not_bulk_email=False, track_email=True)
    records = consent.contact_preferences_update(
        contact=contact,
        changes={"do_not_bulk_email": True, "track_email": True},
        source=ConsentSource.API,
        ip_address="198.51.100.1",
    )
    assert [(r.field, r.old_value, r.new_value) for r in records] == [("do_not_bulk_email", "False", "True")]
    contact.refresh_from_db()
    assert contact.do_not_bulk_email is True
    assert ConsentChange.objects.get().ip_address == "198.51.100.1"
    with pytest.raises(ValueError, match="email"):
        consent.contact_preferences_update(contact=contact, changes={"email": "x"}, source=ConsentSource.API)


def test_list_subscription_set_records_each_change_once():
    contact, subscription_list = ContactFactory(), SubscriptionListFactory()
    first = consent.list_subscription_set(
        contact=contact, subscription_list=subscription_list, subscribed=True, source=ConsentSource.JOURNEY
    )
    again = consent.list_subscription_set(
        contact=contact, subscription_list=subscription_list, subscribed=True, source=ConsentSource.JOURNEY
    )
    left = consent.list_subscription_set(
        contact=contact,
        subscription_list=subscription_list,
        subscribed=False,
        source=ConsentSource.UNSUBSCRIBE_LINK,
    )
    assert (first.old_value, first.new_value) == ("", "subscribed")
    assert again is None
    assert (left.old_value, left.new_value, left.source) == ("subscribed", "unsubscribed", "unsubscribe_link")
    assert contact.subscriptions.get().unsubscribed_at is not None
