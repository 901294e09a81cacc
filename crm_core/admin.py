import json

from django.contrib import admin, messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.template.response import TemplateResponse

from .models import (
    Account,
    AuditLog,
    ConsentChange,
    Contact,
    Event,
    EventRegistration,
    Interaction,
    Lead,
    ListMembership,
    Opportunity,
    SubscriptionList,
)
from .pagination import EstimatedCountPaginator
from .privacy import contact_erase, contact_export
from .roles import ADMIN, user_roles

PRIVACY_ACTION_LIMIT = 100


class LargeTableAdmin(admin.ModelAdmin):
    """Changelists that stay fast at a million rows: no full count, no huge select boxes."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50


class OrphanLeadFilter(admin.SimpleListFilter):
    title = "parent contact"
    parameter_name = "orphan"

    def lookups(self, request, model_admin):
        return [("yes", "Orphan (no parent contact)"), ("no", "Has a parent contact")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(parent_contact__isnull=True)
        if self.value() == "no":
            return queryset.filter(parent_contact__isnull=False)
        return queryset


@admin.register(Account)
class AccountAdmin(LargeTableAdmin):
    list_display = ("name", "industry", "country", "employees", "owner", "created_at")
    list_filter = ("industry", "country")
    search_fields = ("name", "website")
    autocomplete_fields = ("owner", "parent_account")
    list_select_related = ("owner",)


@admin.register(Contact)
class ContactAdmin(LargeTableAdmin):
    list_display = (
        "__str__",
        "email",
        "job_role",
        "country",
        "parent_account",
        "marketing_only",
        "origin",
        "created_at",
    )
    list_filter = ("marketing_only", "origin", "job_role", "do_not_bulk_email", "consent_level", "is_minor")
    search_fields = ("email", "last_name", "first_name")
    autocomplete_fields = ("parent_account", "owner")
    raw_id_fields = ("guardian",)
    list_select_related = ("parent_account",)
    date_hierarchy = "created_at"
    actions = ["export_personal_data", "erase_personal_data"]
    fieldsets = (
        (None, {"fields": ("first_name", "last_name", "email", "phone", "job_title", "job_role")}),
        ("Company and owner", {"fields": ("parent_account", "owner", "country", "city")}),
        ("Marketing", {"fields": ("marketing_only", "origin")}),
        (
            "Contact preferences and data protection",
            {
                "fields": (
                    "do_not_bulk_email",
                    "do_not_email",
                    "allow_prefill",
                    "track_email",
                    "consent_level",
                    "is_minor",
                    "guardian",
                    "guardian_consent",
                )
            },
        ),
    )

    # Data protection (crm_core/privacy.py); both actions are admins' only and audited.
    def has_privacy_permission(self, request):
        return ADMIN in user_roles(request.user)

    @admin.action(description="Export personal data of the selected contacts (JSON)", permissions=["privacy"])
    def export_personal_data(self, request, queryset):
        contacts = list(queryset.order_by("pk")[: PRIVACY_ACTION_LIMIT + 1])
        if len(contacts) > PRIVACY_ACTION_LIMIT:
            self.message_user(request, f"Select at most {PRIVACY_ACTION_LIMIT} contacts.", messages.ERROR)
            return None
        data = [contact_export(contact=contact, actor=request.user) for contact in contacts]
        response = HttpResponse(
            json.dumps(data, cls=DjangoJSONEncoder, indent=2), content_type="application/json"
        )
        response["Content-Disposition"] = 'attachment; filename="contacts-export.json"'
        return response

    @admin.action(description="Erase personal data of the selected contacts", permissions=["privacy"])
    def erase_personal_data(self, request, queryset):
        contacts = list(queryset.order_by("pk")[: PRIVACY_ACTION_LIMIT + 1])
        if len(contacts) > PRIVACY_ACTION_LIMIT:
            self.message_user(request, f"Select at most {PRIVACY_ACTION_LIMIT} contacts.", messages.ERROR)
            return None
        if request.POST.get("confirmed") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "contacts": contacts,
                "opts": self.model._meta,
                "action": "erase_personal_data",
                "title": "Erase personal data?",
            }
            return TemplateResponse(request, "admin/crm_core/contact/erase_confirmation.html", context)
        for contact in contacts:
            contact_erase(contact=contact, actor=request.user)
        self.message_user(
            request, f"Erased the personal data of {len(contacts)} contact(s).", messages.SUCCESS
        )
        return None


@admin.register(Lead)
class LeadAdmin(LargeTableAdmin):
    list_display = (
        "topic",
        "email",
        "status",
        "score",
        "grade",
        "sales_ready",
        "parent_contact",
        "created_at",
    )
    list_filter = ("status", "sales_ready", OrphanLeadFilter, "source")
    search_fields = ("email", "topic", "last_name", "company_name")
    raw_id_fields = ("parent_contact",)
    autocomplete_fields = ("parent_account", "owner")
    list_select_related = ("parent_contact",)
    date_hierarchy = "created_at"


@admin.register(Opportunity)
class OpportunityAdmin(LargeTableAdmin):
    list_display = ("name", "account", "contact", "stage", "status", "amount", "close_date")
    list_filter = ("status", "stage")
    search_fields = ("name",)
    raw_id_fields = ("contact", "originating_lead")
    autocomplete_fields = ("account", "owner")
    list_select_related = ("account", "contact")
    date_hierarchy = "close_date"


@admin.register(Interaction)
class InteractionAdmin(LargeTableAdmin):
    list_display = ("kind", "contact", "occurred_at")
    list_filter = ("kind",)
    raw_id_fields = ("contact",)
    list_select_related = ("contact",)
    date_hierarchy = "occurred_at"


@admin.register(SubscriptionList)
class SubscriptionListAdmin(admin.ModelAdmin):
    list_display = ("name", "is_public", "created_at")
    search_fields = ("name",)


@admin.register(ListMembership)
class ListMembershipAdmin(LargeTableAdmin):
    list_display = ("contact", "subscription_list", "status", "subscribed_at", "unsubscribed_at")
    list_filter = ("status", "subscription_list")
    raw_id_fields = ("contact",)
    list_select_related = ("contact", "subscription_list")


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("name", "starts_at", "location")
    search_fields = ("name",)
    date_hierarchy = "starts_at"


@admin.register(EventRegistration)
class EventRegistrationAdmin(LargeTableAdmin):
    list_display = ("event", "contact", "registered_at", "attended")
    list_filter = ("attended", "event")
    raw_id_fields = ("contact",)
    list_select_related = ("event", "contact")


@admin.register(ConsentChange)
class ConsentChangeAdmin(LargeTableAdmin):
    list_display = ("contact", "field", "subscription_list", "old_value", "new_value", "source", "changed_at")
    list_filter = ("source", "field")
    raw_id_fields = ("contact",)
    list_select_related = ("contact", "subscription_list")
    date_hierarchy = "changed_at"

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AuditLog)
class AuditLogAdmin(LargeTableAdmin):
    list_display = ("action", "object_type", "object_id", "actor", "created_at")
    list_filter = ("action",)
    search_fields = ("object_id",)
    date_hierarchy = "created_at"

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
