"""Reads that enforce what each role may see."""

from django.db.models import QuerySet

from .models import Contact
from .roles import MARKETING, SALES, user_roles

VIEW_SALES = "sales"
VIEW_MARKETING = "marketing"
VIEWS = (VIEW_SALES, VIEW_MARKETING)


def contact_default_view(*, viewer) -> str:
    """Sales reps see the sales view unless they ask otherwise; everyone else the marketing view."""
    roles = user_roles(viewer)
    return (
        VIEW_SALES
        if SALES in roles and MARKETING not in roles and not viewer.is_superuser
        else VIEW_MARKETING
    )


def contact_list(*, viewer, view: str | None = None) -> QuerySet[Contact]:
    """Contacts as `view` shows them: the sales view leaves out marketing-only contacts."""
    view = view or contact_default_view(viewer=viewer)
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; expected one of {', '.join(VIEWS)}")
    contacts = Contact.objects.all()
    if view == VIEW_SALES:
        contacts = contacts.filter(marketing_only=False)
    return contacts
