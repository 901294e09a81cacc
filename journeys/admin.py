from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from crm_core.admin import LargeTableAdmin

from . import adapters
from .designer.flow import names_for
from .designer.summaries import step_summary, trigger_summary
from .models import Enrollment, EntryType, Journey, OutboundEmail, Step, StepExecution
from .selectors import step_representation


def _designer_link(journey) -> str:
    return format_html(
        '<a href="{}" data-testid="edit-in-designer">Edit in the designer</a>',
        reverse("journeys:detail", args=[journey.pk]),
    )


class StepInline(admin.TabularInline):
    """The steps in words, read-only: they are edited in the designer, whose saves go through
    journeys' services and `validate_steps` (the admin never writes Step rows)."""

    model = Step
    fk_name = "journey"
    extra = 0
    fields = ("position", "key", "kind", "in_words", "next_step", "else_step")
    readonly_fields = fields
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="the step")
    def in_words(self, step):
        cache = self.__dict__.setdefault("_names", {})
        if step.journey_id not in cache:  # the journey's template, list and segment names, read once
            rows = list(Step.objects.filter(journey_id=step.journey_id))
            keys = {row.pk: row.key for row in rows}
            cache[step.journey_id] = names_for([step_representation(row, keys) for row in rows])
        return step_summary({"kind": step.kind, "config": step.config}, cache[step.journey_id])


@admin.register(Journey)
class JourneyAdmin(admin.ModelAdmin):
    """Journeys are made and edited in the designer (and the API), whose services validate the steps,
    the entry and the exit condition; here they are shown in words, read-only."""

    list_display = ("name", "status", "entry_type", "entry_segment_id", "trigger_kind", "went_live_at")
    list_filter = ("status", "entry_type")
    search_fields = ("name",)
    inlines = [StepInline]
    fieldsets = (
        (None, {"fields": ("edit_in_designer", "name", "description", "status")}),
        ("Entry", {"fields": ("entry_in_words", "allow_reentry", "min_consent_level", "subscription_list")}),
        ("Exit", {"fields": ("exit_in_words", "exit_on_sales_ready")}),
        ("Dates", {"fields": ("went_live_at", "live_since", "created_by", "created_at", "updated_at")}),
    )
    readonly_fields = ("edit_in_designer", "entry_in_words", "exit_in_words", "created_at", "updated_at")

    def has_add_permission(self, request):
        return False  # a journey is made in the designer or the API, which validate it

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # no journeys service deletes one (its enrollments and emails would go with it)

    @admin.display(description="edit")
    def edit_in_designer(self, journey):
        return _designer_link(journey)

    @admin.display(description="who enters")
    def entry_in_words(self, journey):
        names = adapters.segment_names()
        segment_words = lambda pk: f"‘{names[pk]}’" if pk in names else f"segment #{pk} (gone)"  # noqa: E731
        if journey.entry_type == EntryType.SEGMENT:
            entry = f"Members of {segment_words(journey.entry_segment_id)}"
        else:
            pages = dict(adapters.landing_page_choices())
            entry = trigger_summary(journey.trigger_kind, journey.trigger_config, pages)
        suppression = journey.suppression_segment_id
        return entry + (f", except members of {segment_words(suppression)}" if suppression else "")

    @admin.display(description="exit condition")
    def exit_in_words(self, journey):
        if not journey.exit_condition:
            return "None"
        return f"Leave when {adapters.describe_contact_condition(journey.exit_condition)}"


class EngineRowAdmin(LargeTableAdmin):
    """Enrollments, step executions and outbound emails are the engine's rows (journeys/engine writes
    them, with their locks and leases): shown here to look things up, never added, changed or deleted."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Enrollment)
class EnrollmentAdmin(EngineRowAdmin):
    list_display = ("id", "journey", "contact", "current_step", "state", "next_run_at", "entry_number")
    list_filter = ("state", "journey")
    search_fields = ("=contact__email",)
    search_help_text = "A contact's email address (exact)."
    list_select_related = ("journey", "contact", "current_step")


@admin.register(StepExecution)
class StepExecutionAdmin(EngineRowAdmin):
    list_display = ("id", "enrollment", "seq", "step", "outcome", "detail", "executed_at")
    list_filter = ("outcome", "journey")
    search_fields = ("=enrollment__contact__email",)
    search_help_text = "A contact's email address (exact)."
    list_select_related = ("enrollment", "step")


@admin.register(OutboundEmail)
class OutboundEmailAdmin(EngineRowAdmin):
    list_display = (
        "id",
        "journey",
        "step",
        "contact",
        "status",
        "skip_reason",
        "sent_at",
        "open_count",
        "click_count",
    )
    list_filter = ("status", "journey")
    search_fields = ("=contact__email",)
    search_help_text = "A contact's email address (exact)."
    list_select_related = ("journey", "step", "contact")
