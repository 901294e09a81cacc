"""Who may get marketing email or be tracked: the rules, per contact and set-based.

Two shapes that always agree (a test holds them to it): per contact with the reason when not
allowed (`marketing_email_decision`, `tracking_decision`), and as a `Q` over contacts for journeys
and segments at a million rows (`marketing_email_allowed_q`, `tracking_allowed_q`), plus the
reasons for a batch in one query (`marketing_email_block_reasons`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Case, CharField, Exists, OuterRef, Q, Value, When

from ..models import ConsentLevel, Contact, ListMembership, SubscriptionList, SubscriptionStatus

NO_EMAIL = "no_email"
DO_NOT_EMAIL = "do_not_email"
DO_NOT_BULK_EMAIL = "do_not_bulk_email"
CONSENT_TOO_LOW = "consent_too_low"
MINOR_WITHOUT_GUARDIAN_CONSENT = "minor_without_guardian_consent"
UNSUBSCRIBED_FROM_LIST = "unsubscribed_from_list"
NOT_SUBSCRIBED_TO_LIST = "not_subscribed_to_list"
TRACKING_OFF = "tracking_off"

REASONS = {
    NO_EMAIL: "the contact has no email address",
    DO_NOT_EMAIL: "the contact does not allow any email",
    DO_NOT_BULK_EMAIL: "the contact does not allow bulk (marketing) email",
    CONSENT_TOO_LOW: "the contact's consent level is below the required minimum",
    MINOR_WITHOUT_GUARDIAN_CONSENT: "the contact is a minor without a guardian's consent",
    UNSUBSCRIBED_FROM_LIST: "the contact left this subscription list",
    NOT_SUBSCRIBED_TO_LIST: "the contact is not subscribed to this subscription list",
    TRACKING_OFF: "the contact does not allow email tracking",
}

DEFAULT_MARKETING_MINIMUM = ConsentLevel.MARKETING
TRACKING_MINIMUM = ConsentLevel.TRACKING

# The contact fields `tracking_decision` reads (a sender loads just these with its batch).
TRACKING_FIELDS = ("track_email", "consent_level", "is_minor", "guardian_consent")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str | None = None  # one of the codes above when not allowed

    def __bool__(self) -> bool:
        return self.allowed

    @property
    def message(self) -> str:
        return REASONS.get(self.reason, "") if self.reason else ""


ALLOWED = Decision(True)


def _minor_ok(contact: Contact) -> bool:
    return not contact.is_minor or contact.guardian_consent


def _membership_status(contact: Contact, subscription_list: SubscriptionList) -> str | None:
    return (
        ListMembership.objects.filter(contact=contact, subscription_list=subscription_list)
        .values_list("status", flat=True)
        .first()
    )


def marketing_email_decision(
    contact: Contact,
    *,
    minimum_level: int = DEFAULT_MARKETING_MINIMUM,
    subscription_list: SubscriptionList | None = None,
    require_subscription: bool = False,
) -> Decision:
    """May `contact` get marketing email (optionally for `subscription_list`)? With the reason if not."""
    if not contact.email:
        return Decision(False, NO_EMAIL)
    if contact.do_not_email:
        return Decision(False, DO_NOT_EMAIL)
    if contact.do_not_bulk_email:
        return Decision(False, DO_NOT_BULK_EMAIL)
    if contact.consent_level < minimum_level:
        return Decision(False, CONSENT_TOO_LOW)
    if not _minor_ok(contact):
        return Decision(False, MINOR_WITHOUT_GUARDIAN_CONSENT)
    if subscription_list is not None:
        status = _membership_status(contact, subscription_list)
        if status == SubscriptionStatus.UNSUBSCRIBED:
            return Decision(False, UNSUBSCRIBED_FROM_LIST)
        if require_subscription and status != SubscriptionStatus.SUBSCRIBED:
            return Decision(False, NOT_SUBSCRIBED_TO_LIST)
    return ALLOWED


def tracking_decision(contact: Contact) -> Decision:
    """May opens and clicks of `contact` be tracked?"""
    if not contact.track_email:
        return Decision(False, TRACKING_OFF)
    if contact.consent_level < TRACKING_MINIMUM:
        return Decision(False, CONSENT_TOO_LOW)
    if not _minor_ok(contact):
        return Decision(False, MINOR_WITHOUT_GUARDIAN_CONSENT)
    return ALLOWED


def marketing_email_allowed_q(
    *,
    minimum_level: int = DEFAULT_MARKETING_MINIMUM,
    subscription_list: SubscriptionList | int | None = None,
    require_subscription: bool = False,
) -> Q:
    """The contacts `marketing_email_decision` allows, as one filter (Exists for the list)."""
    q = (
        Q(email__isnull=False)
        & Q(do_not_email=False)
        & Q(do_not_bulk_email=False)
        & Q(consent_level__gte=minimum_level)
        & (Q(is_minor=False) | Q(guardian_consent=True))
    )
    if subscription_list is not None:
        members = ListMembership.objects.filter(contact=OuterRef("pk"), subscription_list=subscription_list)
        q &= ~Exists(members.filter(status=SubscriptionStatus.UNSUBSCRIBED))
        if require_subscription:
            q &= Exists(members.filter(status=SubscriptionStatus.SUBSCRIBED))
    return q


def marketing_email_block_reasons(
    contact_ids: Iterable[int],
    *,
    minimum_level: int = DEFAULT_MARKETING_MINIMUM,
    subscription_list: SubscriptionList | int | None = None,
) -> dict[int, str]:
    """{contact_id: reason} for the contacts of a batch who may not get marketing email; one query.

    The same rules, in the same order, as `marketing_email_decision`; allowed contacts are absent.
    """
    whens = [
        When(email__isnull=True, then=Value(NO_EMAIL)),
        When(do_not_email=True, then=Value(DO_NOT_EMAIL)),
        When(do_not_bulk_email=True, then=Value(DO_NOT_BULK_EMAIL)),
        When(consent_level__lt=minimum_level, then=Value(CONSENT_TOO_LOW)),
        When(is_minor=True, guardian_consent=False, then=Value(MINOR_WITHOUT_GUARDIAN_CONSENT)),
    ]
    if subscription_list is not None:
        unsubscribed = ListMembership.objects.filter(
            contact=OuterRef("pk"),
            subscription_list=subscription_list,
            status=SubscriptionStatus.UNSUBSCRIBED,
        )
        whens.append(When(Exists(unsubscribed), then=Value(UNSUBSCRIBED_FROM_LIST)))
    rows = (
        Contact.objects.filter(id__any_of=list(contact_ids))
        .annotate(block=Case(*whens, default=None, output_field=CharField()))
        .filter(block__isnull=False)
        .values_list("id", "block")
    )
    return dict(rows)


def tracking_allowed_q() -> Q:
    """The contacts `tracking_decision` allows, as one filter."""
    return (
        Q(track_email=True)
        & Q(consent_level__gte=TRACKING_MINIMUM)
        & (Q(is_minor=False) | Q(guardian_consent=True))
    )
