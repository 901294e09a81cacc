from django import forms
from django.contrib import admin, messages

from crm_core.admin_display import properties_html

from .editor import ChoicesField, PageFieldsFormSet
from .models import FormField, FormSubmission, LandingPage, SubmissionStatus
from .selectors import landing_pages_with_failures
from .services import (
    content_sanitize,
    submission_failure_record,
    submission_process,
    submissions_requeue,
)


class FailedSubmissionsFilter(admin.SimpleListFilter):
    title = "failed submissions"
    parameter_name = "failed"

    def lookups(self, request, model_admin):
        return [("yes", "Has failed submissions"), ("no", "No failed submissions")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(failed_submissions__gt=0)
        if self.value() == "no":
            return queryset.filter(failed_submissions=0)
        return queryset


class FormFieldAdminForm(forms.ModelForm):
    # Typed comma-separated, as in the landing page editor (not a JSON list).
    choices = ChoicesField(
        required=False,
        help_text="For a choice field: its values, comma-separated.",
        widget=forms.TextInput(attrs={"size": 10}),
    )

    class Meta:
        model = FormField
        # Narrow boxes: the row of a field fits the screen (the admin's text inputs are 20em wide).
        widgets = {
            name: forms.TextInput(attrs={"size": 10})
            for name in ("name", "label", "contact_field", "lead_field")
        }
        fields = ("position", "name", "label", "field_type", "required", "max_length", "choices",
                  "contact_field", "lead_field")  # fmt: skip


class FormFieldInline(admin.TabularInline):
    model = FormField
    form = FormFieldAdminForm
    formset = PageFieldsFormSet

    class Media:
        css = {"all": ["landing/admin-fields.css"]}

    extra = 1
    fields = ("position", "name", "label", "field_type", "required", "max_length", "choices", "contact_field",
              "lead_field")  # fmt: skip


@admin.register(LandingPage)
class LandingPageAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "slug",
        "status",
        "lead_topic",
        "contact_matching",
        "lead_matching",
        "failed_submissions",
        "updated_at",
    )
    list_filter = ("status", FailedSubmissionsFilter, "contact_matching", "lead_matching")
    search_fields = ("title", "slug", "lead_topic")
    prepopulated_fields = {"slug": ("title",)}
    inlines = [FormFieldInline]
    fieldsets = (
        (None, {"fields": ("title", "slug", "status", "content")}),
        ("Leads and matching", {"fields": ("lead_topic", "contact_matching", "lead_matching", "event")}),
        ("Form", {"fields": ("submit_label", "consent_text", "consent_required", "consent_level")}),
        ("After submission", {"fields": ("thank_you_message", "redirect_url")}),
    )

    def get_queryset(self, request):
        return landing_pages_with_failures(super().get_queryset(request))

    @admin.display(description="failed submissions", ordering="failed_submissions")
    def failed_submissions(self, page):
        return page.failed_submissions

    def save_model(self, request, obj, form, change):
        obj.content = content_sanitize(obj.content)
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(FormSubmission)
class FormSubmissionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "page",
        "status",
        "outcome",
        "received_at",
        "attempts",
        "error_summary",
        "contact",
        "lead",
    )
    list_filter = ("status", "outcome", "page")
    raw_id_fields = ("contact", "lead", "interaction")
    list_select_related = ("page", "contact", "lead")
    date_hierarchy = "received_at"
    show_full_result_count = False
    # Read-only: the payload and the field errors shown one `name: value` line each, not as JSON.
    exclude = ("payload", "errors")
    readonly_fields = [
        *(f.name for f in FormSubmission._meta.fields if f.name not in ("payload", "errors")),
        "payload_in_words",
        "errors_in_words",
    ]
    actions = ["process_now", "requeue_failed"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="payload")
    def payload_in_words(self, submission):
        return properties_html(submission.payload)

    @admin.display(description="field errors")
    def errors_in_words(self, submission):
        return properties_html(submission.errors)

    @admin.display(description="error")
    def error_summary(self, submission):
        return submission.error[:120]

    @admin.action(
        description="Re-queue the selected failed submissions (after fixing their page)",
        permissions=["change"],
    )
    def requeue_failed(self, request, queryset):
        count = submissions_requeue(submissions=queryset)
        self.message_user(
            request, f"{count} failed submission(s) queued for processing again.", messages.INFO
        )

    @admin.action(
        description="Process the selected submissions now (held spam and failed ones included)",
        permissions=["change"],
    )
    def process_now(self, request, queryset):
        results = {"processed": 0, "invalid": 0, "failed": 0}
        for submission_id in queryset.order_by("pk").values_list("pk", flat=True)[:500]:
            FormSubmission.objects.filter(
                pk=submission_id, status__in=[SubmissionStatus.SPAM, SubmissionStatus.FAILED]
            ).update(status=SubmissionStatus.PENDING, attempts=0)
            try:
                submission = submission_process(submission_id=submission_id)
            except Exception as exc:
                submission_failure_record(submission_id=submission_id, error=exc, schedule_retry=True)
                results["failed"] += 1
                continue
            key = "invalid" if submission.status == SubmissionStatus.INVALID else "processed"
            results[key] += 1
        self.message_user(request, ", ".join(f"{v} {k}" for k, v in results.items()), messages.INFO)
