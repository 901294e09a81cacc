"""The subscription center: links to it for emails and journeys, and saving its form."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from crm_core import consent
from crm_core.models import Contact
from crm_core.tokens import PURPOSE_PREFERENCES, contact_token_make

from ..selectors import subscription_lists_for_contact


def preferences_url_builder():
    """A function contact -> absolute link to its subscription center. The route is reversed once
    (that is most of the cost of one link), so a batch of emails reuses one builder and only makes
    each contact's token. Takes anything with the contact's `pk` and `email`."""
    marker = "preferences-token-marker"
    route = settings.SITE_URL.rstrip("/") + reverse("landing:preferences", args=[marker])
    head, _, tail = route.partition(marker)

    def build(contact) -> str:
        return f"{head}{contact_token_make(contact=contact, purpose=PURPOSE_PREFERENCES)}{tail}"

    return build


def preferences_url(*, contact: Contact) -> str:
    """Absolute link to the contact's subscription center (for emails and journeys)."""
    return preferences_url_builder()(contact)


@transaction.atomic
def subscription_preferences_save(
    *, contact: Contact, bulk_email: bool, subscribed_list_ids: set[int], source: str, ip_address: str | None
) -> list:
    """Apply the subscription center's form: bulk-email consent and each list it shows, all or nothing."""
    changes = consent.contact_preferences_update(
        contact=contact, changes={"do_not_bulk_email": not bulk_email}, source=source, ip_address=ip_address
    )
    for subscription_list in subscription_lists_for_contact(contact=contact):
        wanted = subscription_list.pk in subscribed_list_ids
        if wanted != subscription_list.subscribed:
            change = consent.list_subscription_set(
                contact=contact,
                subscription_list=subscription_list,
                subscribed=wanted,
                source=source,
                ip_address=ip_address,
            )
            changes.append(change)
    return changes
