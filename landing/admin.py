from django import forms
from django.contrib import admin, messages

from .models import FormField, FormSubmission, LandingPage, SubmissionStatus
from .services import MATCHING_FIELDS, content_sanitize, submission_failure_record, submission_process


class FormFieldFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        kept = [f.cleaned_data for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        email = [d for d in kept if d.get("contact_field") == "email"]
        if len(email) != 1 or not email[0].get("required") or email[0].get("field_type") != "email":
            raise forms.ValidationError("Exactly one required email field must map to the contact's email.")
        strategy = self.instance.contact_matching
        mapped = {d.get("contact_field") for d in kept}
        missing = [name for name in MATCHING_FIELDS.get(strategy, ()) if name not in mapped]
        if missing:
            raise forms.ValidationError(
                f"The contact matching strategy needs a field mapped to {', '.join(missing)}."
            )


class FormFieldInline(admin.TabularInline):
    model = FormField
    formset = FormFieldFormSet
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
        "updated_at",
    )
    list_filter = ("status", "contact_matching", "lead_matching")
    search_fields = ("title", "slug", "lead_topic")
    prepopulated_fields = {"slug": ("title",)}
    inlines = [FormFieldInline]
    fieldsets = (
        (None, {"fields": ("title", "slug", "status", "content")}),
        ("Leads and matching", {"fields": ("lead_topic", "contact_matching", "lead_matching")}),
        ("Form", {"fields": ("submit_label", "consent_text", "consent_required", "consent_level")}),
        ("After submission", {"fields": ("thank_you_message", "redirect_url")}),
    )

    def save_model(self, request, obj, form, change):
        obj.content = content_sanitize(obj.content)
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(FormSubmission)
class FormSubmissionAdmin(admin.ModelAdmin):
    list_display = ("id", "page", "status", "outcome", "received_at", "attempts", "contact", "lead")
    list_filter = ("status", "outcome", "page")
    raw_id_fields = ("contact", "lead", "interaction")
    list_select_related = ("page", "contact", "lead")
    date_hierarchy = "received_at"
    show_full_result_count = False
    readonly_fields = [f.name for f in FormSubmission._meta.fields]
    actions = ["process_now"]

    def has_add_permission(self, request):
        return False

    @admin.action(
        description="Process the selected submissions now (held spam included)", permissions=["change"]
    )
    def process_now(self, request, queryset):
        results = {"processed": 0, "invalid": 0, "failed": 0}
        for submission_id in queryset.order_by("pk").values_list("pk", flat=True)[:500]:
            FormSubmission.objects.filter(pk=submission_id, status=SubmissionStatus.SPAM).update(
                status=SubmissionStatus.PENDING
            )
            try:
                submission = submission_process(submission_id=submission_id)
            except Exception as exc:
                submission_failure_record(submission_id=submission_id, error=exc, schedule_retry=True)
                results["failed"] += 1
                continue
            key = "invalid" if submission.status == SubmissionStatus.INVALID else "processed"
            results[key] += 1
        self.message_user(request, ", ".join(f"{v} {k}" for k, v in results.items()), messages.INFO)
