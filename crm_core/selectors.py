"""Reads that enforce what each role may see."""

from django.db.models import QuerySet

from .models import Contact, Lead, LeadStatusChange, WorkflowSettings
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


def contacts_in_view(*, contacts: QuerySet[Contact], view: str) -> QuerySet[Contact]:
    """Narrow `contacts` to a view: the sales view leaves out marketing-only contacts."""
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; expected one of {', '.join(VIEWS)}")
    if view == VIEW_SALES:
        return contacts.filter(marketing_only=False)
    return contacts


def contact_list(*, viewer, view: str | None = None) -> QuerySet[Contact]:
    """Contacts as `view` shows them: the sales view leaves out marketing-only contacts."""
    view = view or contact_default_view(viewer=viewer)
    return contacts_in_view(contacts=Contact.objects.all(), view=view)


def workflow_settings_get() -> WorkflowSettings:
    """The one settings row (created by migration; recreated with defaults if someone removed it)."""
    settings, _ = WorkflowSettings.objects.get_or_create(pk=WorkflowSettings.SINGLETON_PK)
    return settings


def orphan_workflow_enabled() -> bool:
    """Whether the orphan-lead workflow runs on its own (on lead save and after a bulk import)."""
    enabled = (
        WorkflowSettings.objects.filter(pk=WorkflowSettings.SINGLETON_PK)
        .values_list("orphan_lead_workflow_enabled", flat=True)
        .first()
    )
    return True if enabled is None else enabled


def lead_orphans() -> QuerySet[Lead]:
    """Leads with no parent contact (served by the partial index lead_orphan_idx)."""
    return Lead.objects.filter(parent_contact__isnull=True)


def lead_status_history(*, lead: Lead) -> QuerySet[LeadStatusChange]:
    """A lead's lifecycle transitions, newest first, with who made them."""
    return LeadStatusChange.objects.filter(lead=lead).select_related("actor", "opportunity")
