"""Who may do what to which record: the one place the API, the web UI and the admin ask.

Each check raises `AccessDenied` (a `PermissionDenied`, so Django and DRF answer 403) with a
reason a person can read, or `Http404` when the record does not exist.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from .models import Lead
from .roles import ADMIN, MARKETING, SALES, user_roles


class AccessDenied(PermissionDenied):
    """A 403 with its reason."""


def may_move_leads_through_sales(user) -> bool:
    """Accept, qualify, disqualify or return leads: the sales and admin roles."""
    return bool(user_roles(user) & {SALES, ADMIN}) and user.has_perm("crm_core.change_lead")


def _is_admin(user) -> bool:
    return ADMIN in user_roles(user)


def lead_owned_by_another(user, lead: Lead) -> bool:
    """A rep may act only on their own or unowned leads; admins on every lead."""
    return not _is_admin(user) and lead.owner_id is not None and lead.owner_id != user.pk


def _get(lead_id, queryset=None) -> Lead:
    try:
        return (queryset if queryset is not None else Lead.objects.all()).get(pk=lead_id)
    except (Lead.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such lead.") from exc


def check_lead_action(user, lead: Lead) -> Lead:
    """`lead` if `user` may move it through the sales lifecycle, else AccessDenied."""
    if not may_move_leads_through_sales(user):
        raise AccessDenied("Only sales and admin users can accept, qualify, disqualify or return leads.")
    if lead_owned_by_another(user, lead):
        raise AccessDenied("This lead belongs to another rep; only its owner or an admin can act on it.")
    return lead


def lead_action_refusal(user, lead: Lead) -> str | None:
    """Why `user` may not move `lead` through the sales lifecycle (None if they may), for pages."""
    try:
        check_lead_action(user, lead)
    except AccessDenied as denied:
        return str(denied)
    return None


def lead_for_action(user, lead_id, *, queryset=None) -> Lead:
    """The lead `user` wants to accept, qualify, disqualify or return (404 / 403 otherwise)."""
    return check_lead_action(user, _get(lead_id, queryset))


def check_lead_edit(user, lead: Lead) -> Lead:
    """Editing a lead's details: marketers and admins any lead, a rep their own or unowned leads."""
    if not user.has_perm("crm_core.change_lead"):
        raise AccessDenied("You may not change leads.")
    roles = user_roles(user)
    if MARKETING not in roles and lead_owned_by_another(user, lead):
        raise AccessDenied("This lead belongs to another rep; only its owner or an admin can change it.")
    return lead


def check_lead_assign(user, lead: Lead, owner) -> Lead:
    """Marketers and admins assign any lead to anyone; a rep may take an unowned lead for themselves."""
    if not user.has_perm("crm_core.change_lead"):
        raise AccessDenied("You may not change leads.")
    roles = user_roles(user)
    if roles & {MARKETING, ADMIN}:
        return lead
    if lead.owner_id is None and owner is not None and owner.pk == user.pk:
        return lead
    raise AccessDenied(
        "A rep can only take an unowned lead for themselves; ask an admin or marketer to reassign it."
    )


def may_review_identities(user) -> bool:
    """Link or dismiss leads in identity conflict: the marketing and admin roles."""
    return bool(user_roles(user) & {MARKETING, ADMIN}) and user.has_perm("crm_core.change_lead")


def check_identity_review(user, lead: Lead | None = None) -> Lead | None:
    """`lead` if `user` may link or dismiss leads in identity conflict, else AccessDenied."""
    if not may_review_identities(user):
        raise AccessDenied("Only marketing and admin users can link or dismiss leads in identity conflict.")
    return lead


def may_merge_contacts(user) -> bool:
    """Find duplicates and merge two contacts into one: the marketing and admin roles."""
    return bool(
        getattr(user, "is_authenticated", False)
        and user_roles(user) & {MARKETING, ADMIN}
        and user.has_perm("crm_core.change_contact")
    )


def check_contact_merge(user) -> None:
    if not may_merge_contacts(user):
        raise AccessDenied("Only marketing and admin users can review duplicates and merge contacts.")


def may_import(user) -> bool:
    """Import contacts, accounts and leads from files: the marketing and admin roles."""
    return bool(getattr(user, "is_authenticated", False) and user_roles(user) & {MARKETING, ADMIN})


def check_import(user) -> None:
    if not may_import(user):
        raise AccessDenied("Only marketing and admin users can import records.")


def may_define_custom_fields(user) -> bool:
    """Define, change and delete custom fields: the marketing and admin roles."""
    return bool(user_roles(user) & {MARKETING, ADMIN}) and user.has_perm("crm_core.change_customfield")


def check_custom_field_define(user) -> None:
    if not may_define_custom_fields(user):
        raise AccessDenied("Only marketing and admin users can define custom fields.")


def may_manage_events(user) -> bool:
    """Create, change and delete events and their registrations: the marketing and admin roles."""
    return bool(user_roles(user) & {MARKETING, ADMIN}) and user.has_perm("crm_core.change_event")


def check_event_manage(user) -> None:
    if not may_manage_events(user):
        raise AccessDenied("Only marketing and admin users can manage events and registrations.")


# --- A rep's own work: activities and tasks (the sales app) -----------------------------------------
# Reps log activities on any record they can see and edit their own; tasks belong to their owner.
# Marketers read both (their role has only the view permissions); admins edit any.


def check_activity_log(user) -> None:
    if not user.has_perm("sales.add_activity"):
        raise AccessDenied("Only sales and admin users can log activities.")


def check_activity_edit(user, activity) -> None:
    """Its author (or an admin) may change or delete an activity."""
    if not user.has_perm("sales.change_activity"):
        raise AccessDenied("You may not change activities.")
    if not _is_admin(user) and activity.author_id != user.pk:
        raise AccessDenied("Only the person who logged this activity (or an admin) can change it.")


def check_task_assign(user, owner) -> None:
    """A rep creates tasks for themselves; admins for anyone."""
    if not user.has_perm("sales.add_task"):
        raise AccessDenied("Only sales and admin users can create tasks.")
    if not _is_admin(user) and owner is not None and owner.pk != user.pk:
        raise AccessDenied(
            "A rep can only create tasks for themselves; ask an admin to assign one to someone else."
        )


def check_task_edit(user, task) -> None:
    """A task's owner (or its creator, or an admin) may change, complete or delete it."""
    if not user.has_perm("sales.change_task"):
        raise AccessDenied("You may not change tasks.")
    if not _is_admin(user) and user.pk not in (task.owner_id, task.created_by_id):
        raise AccessDenied("This task belongs to another user; only its owner or an admin can change it.")


# --- Records edited in the web UI (the API checks the same model permissions per role) ------------

RECORD_NOUNS = {"contact": "contacts", "account": "accounts", "lead": "leads", "opportunity": "opportunities"}


def check_record_write(user, model_name: str, *, creating: bool = False) -> None:
    """Creating or changing a contact, account, lead or opportunity: the role's model permission."""
    action = "add" if creating else "change"
    if not user.has_perm(f"crm_core.{action}_{model_name}"):
        verb = "create" if creating else "change"
        raise AccessDenied(f"Your role may not {verb} {RECORD_NOUNS[model_name]}.")


def record_write_refusal(user, model_name: str, record=None) -> str | None:
    """Why `user` may not change `record` (None if they may), for pages that hide their edit link."""
    try:
        check_record_write(user, model_name)
        if model_name == "lead" and record is not None:
            check_lead_edit(user, record)
    except AccessDenied as denied:
        return str(denied)
    return None


def check_lead_create(user, owner) -> None:
    """Creating a lead: marketers and admins for any owner, a rep for themselves or for nobody."""
    check_record_write(user, "lead", creating=True)
    if user_roles(user) & {MARKETING, ADMIN}:
        return
    if owner is not None and owner.pk != user.pk:
        raise AccessDenied("A rep can only create leads for themselves or unowned; ask an admin or marketer.")


def check_saved_view_change(user, saved_view) -> None:
    """A saved list view is changed or deleted by its owner only; shared views are read-only to others."""
    if saved_view.owner_id != user.pk:
        raise AccessDenied("This view belongs to another user; only its owner can change or delete it.")
