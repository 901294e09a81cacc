"""Admin actions of the identity review (the Lead changelist): link the selected leads in conflict
to their known contact, or dismiss them. Same services and access rule as the API and the web UI."""

from django.contrib import admin, messages

from . import access, services
from .models import IdentityStatus

ADMIN_REVIEW_MAX = 500


def _review(modeladmin, request, queryset, *, service, verb: str) -> None:
    try:
        access.check_identity_review(request.user)
    except access.AccessDenied as denied:
        modeladmin.message_user(request, str(denied), messages.ERROR)
        return
    leads = list(queryset.filter(identity_status=IdentityStatus.CONFLICT).order_by("pk")[:ADMIN_REVIEW_MAX])
    done, refused = 0, []
    for lead in leads:
        try:
            service(lead=lead, actor=request.user)
        except services.IdentityReviewError as error:
            refused.append(f"lead {lead.pk}: {error}")
        else:
            done += 1
    modeladmin.message_user(request, f"{done} lead(s) in identity conflict {verb}.", messages.SUCCESS)
    for reason in refused:
        modeladmin.message_user(request, reason, messages.WARNING)


@admin.action(description="Identity review: link to the known contact", permissions=["change"])
def identity_link_leads(modeladmin, request, queryset):
    _review(modeladmin, request, queryset, service=services.lead_identity_link, verb="linked")


@admin.action(description="Identity review: dismiss (no contact, disqualified)", permissions=["change"])
def identity_dismiss_leads(modeladmin, request, queryset):
    _review(modeladmin, request, queryset, service=services.lead_identity_dismiss, verb="dismissed")
