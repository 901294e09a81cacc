"""The one seam between journeys and the other apps it reads.

| function | backed by |
|---|---|
| segment_member_ids / segment_joins_since / static_segment_add / _remove | segments' stored membership |
| segment_choices / segment_names / static_segment_choices | segments' names (the designer's pickers) |
| validate_ / compile_ / describe_contact_condition, condition_registry | segments.compiler (root "contact") |
| marketing_email_block_reason(s), tracking_allowed | crm_core.consent |
| contacts_field_set / list_memberships_set (step writes) | crm_core.consent (ConsentChange, change notices) |
| subscription_center_url(_builder) | landing's subscription center (crm_core.tokens) |
| form_submit_interactions, landing_page_id / _choices | landing's pages; what it records on form_submit |
| sales_tasks_create (the create-task step) | sales.services.tasks_create (set-based) |

A member's `added_at` is when it (last) joined: a contact that leaves and joins again gets a new
one, which is what re-entry reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from django.db.models import Q, QuerySet

from crm_core import consent
from crm_core.models import ConsentSource, Contact, Interaction, InteractionKind
from landing import selectors as landing_selectors
from segments import selectors as segment_selectors
from segments.compiler import compile_definition, describe_definition, registry_as_dict, validate_definition
from segments.services import segment_members_add, segment_members_remove

# --- Segments ------------------------------------------------------------------------------


def segment_member_ids(segment_id: int) -> QuerySet:
    """Current members of a segment, as a queryset of contact ids (usable in `id__in`)."""
    return segment_selectors.segment_member_ids(segment_id=segment_id)


def segment_choices(limit: int = 500) -> list[tuple[int, str]]:
    """(id, label) of the segments a journey may name, for the designer's pickers."""
    return [
        (pk, f"{name} ({kind}, {status}, {count:,} members)")
        for pk, name, kind, status, count in segment_selectors.segment_choice_rows(limit=limit)
    ]


def static_segment_choices(limit: int = 500) -> list[tuple[int, str]]:
    """(id, name) of the static segments, which add/remove steps may name."""
    rows = segment_selectors.segment_choice_rows(limit=limit)
    return [(pk, name) for pk, name, kind, _status, _count in rows if kind == "static"]


def segment_names(limit: int = 500) -> dict[int, str]:
    """{id: name} of the segments, to name a journey's entry in lists and summaries."""
    return {pk: name for pk, name, *_rest in segment_selectors.segment_choice_rows(limit=limit)}


def segment_joins_since(segment_id: int, since: datetime | None) -> QuerySet:
    """Members who joined at or after `since` (all members when None): rows of contact_id, joined_at."""
    return segment_selectors.segment_joins_since(segment_id=segment_id, since=since)


def static_segment_exists(segment_id: int) -> bool:
    return segment_selectors.static_segment_exists(segment_id=segment_id)


def static_segment_add(*, segment_id: int, contact_ids: Iterable[int], now: datetime) -> None:
    segment_members_add(segment_id=segment_id, contact_ids=contact_ids, at=now)


def static_segment_remove(*, segment_id: int, contact_ids: Iterable[int]) -> None:
    segment_members_remove(segment_id=segment_id, contact_ids=contact_ids)


# --- Condition trees (the segment tree format, compiled by the segment compiler) --------------


def validate_contact_condition(definition) -> list[dict]:
    """Problems of a condition tree rooted at contact, each {"path", "message"}; empty if valid."""
    return validate_definition(definition, root="contact")


def compile_contact_condition(definition) -> Q:
    """A valid condition tree as a Q over contacts."""
    return compile_definition(definition, root="contact")


def describe_contact_condition(definition) -> str:
    """A condition tree in words ("job role is “Decision maker”"), for the designer's cards."""
    return describe_definition(definition, root="contact")


def condition_registry() -> dict:
    """The registry the segment builder's condition-tree component reads (fields, operators, ...)."""
    return registry_as_dict()


# --- Consent ----------------------------------------------------------------------------------

BLOCK_NO_EMAIL = consent.NO_EMAIL
BLOCK_DO_NOT_EMAIL = consent.DO_NOT_EMAIL
BLOCK_DO_NOT_BULK_EMAIL = consent.DO_NOT_BULK_EMAIL
BLOCK_UNSUBSCRIBED = consent.UNSUBSCRIBED_FROM_LIST
BLOCK_MINOR = consent.MINOR_WITHOUT_GUARDIAN_CONSENT
BLOCK_CONSENT_LEVEL = consent.CONSENT_TOO_LOW


def marketing_email_block_reasons(
    contact_ids: Iterable[int], *, min_consent_level: int, subscription_list_id: int | None = None
) -> dict[int, str]:
    """For a batch of contacts, {contact_id: reason} for those who may not get marketing email
    (one query). Contacts that may receive it are absent."""
    return consent.marketing_email_block_reasons(
        contact_ids, minimum_level=min_consent_level, subscription_list=subscription_list_id
    )


def marketing_email_block_reason(
    contact: Contact, *, min_consent_level: int, subscription_list_id: int | None = None
) -> str | None:
    """Why this contact may not receive marketing email, or None if they may."""
    reasons = marketing_email_block_reasons(
        [contact.pk], min_consent_level=min_consent_level, subscription_list_id=subscription_list_id
    )
    return reasons.get(contact.pk)


# The contact fields `tracking_allowed` reads: the sender loads them with its batch.
TRACKING_FIELDS = consent.TRACKING_FIELDS


def tracking_allowed(contact) -> bool:
    """May opens and clicks of this contact be tracked (pixel, rewritten links)? `contact` is a
    model or anything with the TRACKING_FIELDS attributes; no query."""
    return consent.tracking_decision(contact).allowed


# --- Writes of journey steps to contacts and list memberships (recorded as the journey's) ----------


def contacts_field_set(*, contact_ids: Iterable[int], field: str, value) -> list[int]:
    """Set a contact field of many contacts; returns those that changed."""
    return consent.contacts_field_set(
        contact_ids=contact_ids, field=field, value=value, source=ConsentSource.JOURNEY
    )


def list_memberships_set(*, contact_ids: Iterable[int], subscription_list_id: int, subscribed: bool) -> None:
    """Put contacts on a list or take them off it (never re-subscribing anyone who left it)."""
    consent.list_memberships_set(
        contact_ids=contact_ids,
        subscription_list_id=subscription_list_id,
        subscribed=subscribed,
        source=ConsentSource.JOURNEY,
    )


# --- Tokens and the subscription center -------------------------------------------------------


def subscription_center_url(contact: Contact) -> str:
    """Absolute URL of the contact's subscription center (the unsubscribe link of every email)."""
    from landing.services import preferences_url

    return preferences_url(contact=contact)


def one_click_unsubscribe_url(subscription_center_url: str) -> str:
    """The RFC 8058 one-click address that goes with a subscription-center link (landing's route)."""
    return subscription_center_url.rstrip("/") + "/unsubscribe/"


def subscription_center_url_builder() -> Callable[[Contact], str]:
    """`subscription_center_url` for a batch of emails: the route is reversed once per builder."""
    from landing.services import preferences_url_builder

    return preferences_url_builder()


# --- Landing-page form submissions ------------------------------------------------------------


def landing_page_choices(limit: int = 500) -> list[tuple[int, str]]:
    """(id, label) of the landing pages a form-submit trigger may name, for the designer's picker."""
    pages = landing_selectors.landing_page_choice_rows(limit=limit)
    return [(pk, f"{title} (/l/{slug}/)") for pk, title, slug in pages]


def landing_page_id(page) -> int | None:
    """The id of the landing page `page` names (its id, as int or digits, or its slug); None if none."""
    if isinstance(page, bool) or not isinstance(page, int | str) or page == "":
        return None
    if isinstance(page, int) or page.isdigit():
        return landing_selectors.landing_page_id_by_key(pk=int(page))
    return landing_selectors.landing_page_id_by_key(slug=page)


def form_submit_interactions(*, page=None, form: str | None = None) -> QuerySet:
    """form_submit interactions of a landing page (its id, or its slug) or of a form (the page's
    slug), matched on what landing records: `landing_page_id` and `form`."""
    page_q = Q()
    if page not in (None, ""):
        if isinstance(page, int) or str(page).isdigit():
            page_q &= Q(properties__landing_page_id=int(page))
        else:
            page_q &= Q(properties__form=str(page))
    if form:
        page_q &= Q(properties__form=form)
    if not page_q:
        return Interaction.objects.none()
    return Interaction.objects.filter(kind=InteractionKind.FORM_SUBMIT).filter(page_q)


# --- Sales tasks -----------------------------------------------------------------------------


def sales_tasks_create(
    *,
    title: str,
    description: str,
    due_at: datetime | None,
    journey_id: int,
    owner_contacts: list[tuple[int | None, int]],
    now: datetime,
) -> int:
    """One sales task per (owner_id, contact_id), marked as made by this journey; owners are notified."""
    from sales.services import TaskTarget, tasks_create

    return tasks_create(
        title=title,
        description=description,
        due_at=due_at,
        source="journey",
        journey_id=journey_id,
        targets=[
            TaskTarget(owner_id=owner_id, contact_id=contact_id) for owner_id, contact_id in owner_contacts
        ],
        now=now,
    )
