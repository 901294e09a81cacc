from django.contrib import admin

from .models import Enrollment, Journey, OutboundEmail, Step, StepExecution


class StepInline(admin.TabularInline):
    model = Step
    fk_name = "journey"
    extra = 0
    fields = ("position", "key", "kind", "config", "next_step", "else_step")


@admin.register(Journey)
class JourneyAdmin(admin.ModelAdmin):
    list_display = ("name", "status", "entry_type", "entry_segment_id", "trigger_kind", "went_live_at")
    list_filter = ("status", "entry_type")
    search_fields = ("name",)
    inlines = [StepInline]


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ("id", "journey", "contact", "current_step", "state", "next_run_at", "entry_number")
    list_filter = ("state",)
    raw_id_fields = ("journey", "contact", "current_step")
    show_full_result_count = False


@admin.register(StepExecution)
class StepExecutionAdmin(admin.ModelAdmin):
    list_display = ("id", "enrollment", "seq", "step", "outcome", "detail", "executed_at")
    list_filter = ("outcome",)
    raw_id_fields = ("enrollment", "journey", "step")
    show_full_result_count = False


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
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
    list_filter = ("status",)
    raw_id_fields = ("execution", "enrollment", "journey", "step", "contact")
    show_full_result_count = False
