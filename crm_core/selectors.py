"""Reads that enforce what each role may see."""

from dataclasses import dataclass

from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from .addresses import normalize_email
from .models import (
    ConsentChange,
    Contact,
    EventRegistration,
    Interaction,
    Lead,
    LeadStatusChange,
    ListMembership,
    Opportunity,
    WorkflowSettings,
)
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


# --- The contact list and the contact's records, as the workspace's pages show them -----------


def contact_list_filtered(
    *,
    viewer,
    view: str,
    search: str = "",
    job_role: str = "",
    country: str = "",
    account: str = "",
    owner=None,
    no_owner: bool = False,
    has_leads: bool | None = None,
    sales_ready: bool = False,
) -> QuerySet[Contact]:
    """The contact list as a page shows it: one query with `Exists` for the lead clauses.

    `account` is an account id (digits) or part of an account's name; `search` matches part of
    the first name, last name or email, case-insensitively.
    """
    contacts = contact_list(viewer=viewer, view=view)
    if search:
        contacts = contacts.filter(
            Q(email__icontains=search) | Q(last_name__icontains=search) | Q(first_name__icontains=search)
        )
    if job_role:
        contacts = contacts.filter(job_role=job_role)
    if country:
        contacts = contacts.filter(country=country)
    if account:
        if account.isdigit():
            contacts = contacts.filter(parent_account_id=int(account))
        else:
            contacts = contacts.filter(parent_account__name__icontains=account)
    if no_owner:
        contacts = contacts.filter(owner__isnull=True)
    elif owner is not None:
        contacts = contacts.filter(owner=owner)
    leads = Lead.objects.filter(parent_contact=OuterRef("pk"))
    if has_leads is not None:
        contacts = contacts.filter(Exists(leads) if has_leads else ~Exists(leads))
    if sales_ready:
        contacts = contacts.filter(Exists(leads.filter(sales_ready=True)))
    return contacts


def contact_list_rows(contacts: QuerySet[Contact]) -> QuerySet[Contact]:
    """What each row of the list shows: account and owner joined, lead count and best score per row."""
    per_contact = Lead.objects.filter(parent_contact=OuterRef("pk")).order_by().values("parent_contact")
    return contacts.select_related("parent_account", "owner").annotate(
        lead_count=Coalesce(Subquery(per_contact.annotate(n=Count("id")).values("n")), 0),
        best_score=Subquery(per_contact.annotate(best=Max("score")).values("best")),
        has_sales_ready=Exists(Lead.objects.filter(parent_contact=OuterRef("pk"), sales_ready=True)),
    )


@dataclass
class ContactRecords:
    """A contact's CRM records as the contact page shows them, each part read by one query."""

    contact: Contact
    leads: list[Lead]
    opportunities: list[Opportunity]
    interactions: list[Interaction]
    subscriptions: list[ListMembership]
    registrations: list[EventRegistration]
    consent_changes: list[ConsentChange]


TIMELINE_LENGTH = 50


def contact_records(*, contact_id: int) -> ContactRecords:
    """One contact and its CRM records: a fixed number of queries, whatever it has.

    The contact page adds what other apps know of the contact (workspace.selectors.contact_overview).
    """
    contact = Contact.objects.select_related("parent_account", "owner", "guardian").get(pk=contact_id)
    return ContactRecords(
        contact=contact,
        leads=list(
            Lead.objects.filter(parent_contact=contact).select_related("owner").order_by("-created_at", "-id")
        ),
        opportunities=list(
            Opportunity.objects.filter(contact=contact).select_related("owner").order_by("-created_at", "-id")
        ),
        interactions=list(
            Interaction.objects.filter(contact=contact).order_by("-occurred_at", "-id")[:TIMELINE_LENGTH]
        ),
        subscriptions=list(
            ListMembership.objects.filter(contact=contact)
            .select_related("subscription_list")
            .order_by("subscription_list__name")
        ),
        registrations=list(
            EventRegistration.objects.filter(contact=contact)
            .select_related("event")
            .order_by(F("event__starts_at").desc(nulls_last=True), "-registered_at", "-id")
        ),
        consent_changes=list(
            ConsentChange.objects.filter(contact=contact)
            .select_related("subscription_list")
            .order_by("-changed_at", "-id")[:20]
        ),
    )


def contact_ids_existing(*, contact_ids) -> set[int]:
    """Which of these contact ids exist (one query)."""
    return set(Contact.objects.filter(pk__in=list(contact_ids)).values_list("pk", flat=True))


def contact_ids_by_email(*, emails) -> dict[str, int]:
    """Normalised email -> contact id for the emails that belong to a contact (one query, by the
    lower(email) index)."""
    wanted = [e for e in map(normalize_email, emails) if e]
    return dict(Contact.objects.filter(email__in=wanted).values_list("email", "pk"))


# What the merge page shows of each contact's records (the merge moves them all to the survivor).
RELATED_COUNTS = (
    ("Leads", Lead, "parent_contact"),
    ("Interactions", Interaction, "contact"),
    ("Opportunities", Opportunity, "contact"),
    ("List memberships", ListMembership, "contact"),
    ("Event registrations", EventRegistration, "contact"),
)


def contact_related_counts(*, contact_ids) -> dict[int, dict[str, int]]:
    """Per contact, how many of each kind of record it has (one query, a counting subquery each)."""

    def counted(model, field):
        rows = model.objects.filter(**{field: OuterRef("pk")}).order_by().values(field)
        return Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n")[:1]), 0)

    annotations = {f"n{i}": counted(model, field) for i, (_, model, field) in enumerate(RELATED_COUNTS)}
    rows = Contact.objects.filter(pk__in=list(contact_ids)).annotate(**annotations).values("pk", *annotations)
    return {
        row["pk"]: {label: row[f"n{i}"] for i, (label, _, _) in enumerate(RELATED_COUNTS)} for row in rows
    }
