import json

from django.contrib import admin, messages
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import HttpResponse
from django.template.response import TemplateResponse

from . import consent, custom_fields, services, tasking
from .admin_custom import CustomValuesAdminMixin
from .admin_display import properties_html
from .admin_identity import identity_dismiss_leads, identity_link_leads
from .estimates import EstimatedCountPaginator
from .models import (
    Account,
    AuditLog,
    ConsentChange,
    ConsentSource,
    Contact,
    Event,
    EventRegistration,
    Interaction,
    Lead,
    LeadStatusChange,
    ListMembership,
    Opportunity,
    SubscriptionList,
    SubscriptionStatus,
    WorkflowSettings,
)
from .privacy import contact_erase, contact_export
from .roles import ADMIN, user_roles
from .selectors import VIEW_MARKETING, VIEW_SALES, contact_default_view, contacts_in_view
from .services import LINK_ORPHAN_LEADS_TASK, lead_link_orphans

# The admin links up to this many selected leads in the request; more go to the worker.
ADMIN_LINK_IN_REQUEST_MAX = 10_000
PRIVACY_ACTION_LIMIT = 100


class LargeTableAdmin(admin.ModelAdmin):
    """Changelists that stay fast at a million rows: no full count, no huge select boxes."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50


class ServiceWriteAdmin(LargeTableAdmin):
    """Saves and deletes through crm_core's services, so admin edits follow the same rules, leave the
    same trail (actor, consent changes) and raise the same change notices as every other writer."""

    entity: str = ""

    def create_record(self, request, values: dict):
        raise NotImplementedError

    def update_record(self, request, obj, values: dict):
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        names = form.changed_data if change else [n for n in form.cleaned_data if n in form.fields]
        values = {
            name: form.cleaned_data[name]
            for name in names
            if name not in self.get_readonly_fields(request, obj)
        }
        custom = custom_fields.form_values(values)  # the `custom.<key>` widgets (admin_custom.py)
        values = {n: v for n, v in values.items() if not n.startswith(custom_fields.PREFIX)}
        if custom or (not change and self.entity in custom_fields.ENTITIES):
            values["custom"] = custom
        with transaction.atomic():
            if change:
                saved = self.update_record(request, type(obj).objects.get(pk=obj.pk), values)
            else:
                saved = self.create_record(request, values)
        obj.pk = saved.pk
        obj._state.adding = False
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        services.records_delete(entity=self.entity, ids=[obj.pk], actor=request.user)

    def delete_queryset(self, request, queryset):
        services.records_delete(
            entity=self.entity, ids=queryset.values_list("pk", flat=True), actor=request.user
        )


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


class ContactViewFilter(admin.SimpleListFilter):
    """The sales view (no marketing-only contacts) or the marketing view (all); sales reps start
    in the sales view."""

    title = "view"
    parameter_name = "view"

    def lookups(self, request, model_admin):
        return [
            (VIEW_SALES, "Sales view (no marketing-only contacts)"),
            (VIEW_MARKETING, "Marketing view (all)"),
        ]

    def __init__(self, request, params, model, model_admin):
        self.default_view = contact_default_view(viewer=request.user)
        super().__init__(request, params, model, model_admin)

    def value(self):
        view = super().value()
        return view if view in (VIEW_SALES, VIEW_MARKETING) else self.default_view

    def queryset(self, request, queryset):
        return contacts_in_view(contacts=queryset, view=self.value())

    def choices(self, changelist):
        current = self.value()
        for lookup, title in self.lookup_choices:
            yield {
                "selected": current == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


@admin.register(Account)
class AccountAdmin(CustomValuesAdminMixin, ServiceWriteAdmin):
    entity = "account"
    list_display = ("name", "industry", "country", "employees", "owner", "created_at")
    list_filter = ("industry", "country")
    search_fields = ("name", "website")
    autocomplete_fields = ("owner", "parent_account")
    list_select_related = ("owner",)

    def create_record(self, request, values):
        return services.account_create(actor=request.user, **values)

    def update_record(self, request, obj, values):
        return services.account_update(account=obj, actor=request.user, **values)


@admin.register(Contact)
class ContactAdmin(CustomValuesAdminMixin, ServiceWriteAdmin):
    entity = "contact"

    def create_record(self, request, values):
        return services.contact_create(actor=request.user, consent_source=ConsentSource.ADMIN, **values)

    def update_record(self, request, obj, values):
        return services.contact_update(
            contact=obj, actor=request.user, consent_source=ConsentSource.ADMIN, **values
        )

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
    list_filter = (
        ContactViewFilter,
        "marketing_only",
        "origin",
        "job_role",
        "do_not_bulk_email",
        "consent_level",
        "is_minor",
    )
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
class LeadAdmin(CustomValuesAdminMixin, ServiceWriteAdmin):
    """Status, score, grade and sales-ready are read-only: they move through the lead lifecycle and
    lead scoring. A changed owner goes through the assignment service."""

    entity = "lead"
    readonly_fields = (
        "status",
        "score",
        "grade",
        "sales_ready",
        "identity_status",
        "identity_conflict_contact",
    )
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
    list_filter = ("status", "sales_ready", OrphanLeadFilter, "source", "identity_status")
    search_fields = ("email", "topic", "last_name", "company_name")
    raw_id_fields = ("parent_contact",)
    autocomplete_fields = ("parent_account", "owner")
    list_select_related = ("parent_contact",)
    date_hierarchy = "created_at"
    actions = ["link_orphan_leads", identity_link_leads, identity_dismiss_leads]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        held = obj is not None and obj.identity_status == "conflict"
        return (*fields, "parent_contact") if held else fields

    def create_record(self, request, values):
        return services.lead_create(actor=request.user, **values)

    def update_record(self, request, obj, values):
        owner_changed = "owner" in values
        owner = values.pop("owner", None)
        lead = services.lead_update(lead=obj, actor=request.user, **values)
        if owner_changed:
            lead = services.lead_assign(lead=lead, owner=owner, actor=request.user)
        return lead

    @admin.action(description="Link orphan leads to contacts (orphan-lead workflow)", permissions=["change"])
    def link_orphan_leads(self, request, queryset):
        ids = list(queryset.filter(parent_contact__isnull=True).values_list("pk", flat=True))
        if not ids:
            self.message_user(request, "None of the selected leads is an orphan.", messages.INFO)
            return
        if len(ids) > ADMIN_LINK_IN_REQUEST_MAX:
            transaction.on_commit(
                lambda: tasking.enqueue(LINK_ORPHAN_LEADS_TASK, lead_ids=ids, only_if_enabled=False)
            )
            self.message_user(request, f"Linking {len(ids):,} orphan leads in the background.", messages.INFO)
            return
        result = lead_link_orphans(lead_ids=ids)
        self.message_user(
            request,
            f"Linked {result.leads_linked:,} leads: {result.contacts_created:,} marketing-only contacts "
            f"created, {result.contacts_matched:,} existing contacts matched.",
            messages.SUCCESS,
        )


@admin.register(LeadStatusChange)
class LeadStatusChangeAdmin(LargeTableAdmin):
    list_display = ("lead", "from_status", "to_status", "actor", "opportunity", "changed_at")
    list_filter = ("to_status", "from_status")
    raw_id_fields = ("lead", "opportunity")
    list_select_related = ("lead", "actor")
    date_hierarchy = "changed_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WorkflowSettings)
class WorkflowSettingsAdmin(admin.ModelAdmin):
    """One row: the switches of the CRM workflows."""

    list_display = ("__str__", "orphan_lead_workflow_enabled", "updated_at")
    fields = ("orphan_lead_workflow_enabled", "updated_at")
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request):
        return not WorkflowSettings.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Opportunity)
class OpportunityAdmin(ServiceWriteAdmin):
    entity = "opportunity"

    def create_record(self, request, values):
        return services.opportunity_create(actor=request.user, **values)

    def update_record(self, request, obj, values):
        return services.opportunity_update(opportunity=obj, actor=request.user, **values)

    list_display = ("name", "account", "contact", "stage", "status", "amount", "close_date")
    list_filter = ("status", "stage")
    search_fields = ("name",)
    raw_id_fields = ("contact", "originating_lead")
    autocomplete_fields = ("account", "owner")
    list_select_related = ("account", "contact")
    date_hierarchy = "close_date"


@admin.register(Interaction)
class InteractionAdmin(ServiceWriteAdmin):
    entity = "interaction"

    def create_record(self, request, values):
        contact = values.pop("contact")
        return services.interaction_record(contact_id=contact.pk, actor=request.user, **values)

    def update_record(self, request, obj, values):
        return services.interaction_update(interaction=obj, actor=request.user, **values)

    list_display = ("kind", "contact", "occurred_at")
    list_filter = ("kind",)
    raw_id_fields = ("contact",)
    list_select_related = ("contact",)
    date_hierarchy = "occurred_at"
    # Its properties (url, email, form, event) come from the tracking and the integrations; the admin
    # shows them, one a line, and does not take them as typed JSON.
    exclude = ("properties",)
    readonly_fields = ("properties_in_words",)

    @admin.display(description="properties")
    def properties_in_words(self, interaction):
        return properties_html(interaction.properties)


@admin.register(SubscriptionList)
class SubscriptionListAdmin(admin.ModelAdmin):
    list_display = ("name", "is_public", "created_at")
    search_fields = ("name",)


@admin.register(ListMembership)
class ListMembershipAdmin(LargeTableAdmin):
    """Subscribing and leaving go through `consent.list_subscription_set`, which records each change;
    a membership is never deleted (leaving marks it unsubscribed, which blocks later email)."""

    list_display = ("contact", "subscription_list", "status", "subscribed_at", "unsubscribed_at")
    list_filter = ("status", "subscription_list")
    raw_id_fields = ("contact",)
    list_select_related = ("contact", "subscription_list")
    readonly_fields = ("subscribed_at", "unsubscribed_at")

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "contact", "subscription_list") if obj is not None else fields

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        contact = obj.contact
        subscription_list = obj.subscription_list
        consent.list_subscription_set(
            contact=contact,
            subscription_list=subscription_list,
            subscribed=form.cleaned_data["status"] == SubscriptionStatus.SUBSCRIBED,
            source=ConsentSource.ADMIN,
            actor=request.user,
        )
        saved = ListMembership.objects.get(contact=contact, subscription_list=subscription_list)
        obj.pk = saved.pk
        obj._state.adding = False
        obj.refresh_from_db()


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("name", "starts_at", "location", "capacity")
    search_fields = ("name",)
    date_hierarchy = "starts_at"


@admin.register(EventRegistration)
class EventRegistrationAdmin(ServiceWriteAdmin):
    entity = "registration"

    def create_record(self, request, values):
        return services.registration_save(actor=request.user, **values)

    def update_record(self, request, obj, values):
        return services.registration_save(registration=obj, actor=request.user, **values)

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
    exclude = ("details",)
    readonly_fields = ("details_in_words",)

    @admin.display(description="details")
    def details_in_words(self, entry):
        return properties_html(entry.details)

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
