"""Reads that compose several apps for one page: the contact page (contact 360); the saved views
of the lists.

crm_core gives the contact and its CRM records; segments and journeys say, through their own
selectors, which segments the contact is in and which journeys it is enrolled in.
"""

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Q

from crm_core.roles import MARKETING, SALES
from crm_core.selectors import ContactRecords, contact_records
from journeys.selectors import contact_enrollments
from segments.selectors import contact_segments

from .models import SavedView


@dataclass
class ContactOverview(ContactRecords):
    """Everything the contact page shows: the CRM records, then the segments and journeys."""

    segments: list = field(default_factory=list)
    journeys: list = field(default_factory=list)


def contact_overview(*, contact_id: int) -> ContactOverview:
    """The 360-degree view of one contact: a fixed number of queries, whatever it has.

    Raises Contact.DoesNotExist for an unknown id.
    """
    records = contact_records(contact_id=contact_id)
    return ContactOverview(
        **vars(records),
        segments=contact_segments(contact_id=records.contact.pk),
        journeys=contact_enrollments(contact_id=records.contact.pk),
    )


def saved_views_visible(*, viewer, entity: str) -> list:
    """The viewer's own views of `entity` and the views others shared, by name: one query."""
    return list(
        SavedView.objects.filter(Q(owner=viewer) | Q(shared=True), entity=entity)
        .select_related("owner")
        .order_by("name", "id")
    )


def owner_choices() -> list:
    """Users who can own contacts and leads in the lists' owner filters: sales and marketing (few)."""
    return list(
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=[SALES, MARKETING])
        .distinct()
        .order_by("username")
    )
