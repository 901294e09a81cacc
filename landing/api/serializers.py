from rest_framework import serializers

from crm_core.api.serializers import StrictModelSerializer

from ..forms import MAX_FIELD_LENGTH
from ..models import FormField, FormSubmission, LandingPage
from ..selectors import failed_submission_count
from ..services import landing_form_problems, page_field_rows


def problems_as_errors(problems, *, rows: int) -> dict:
    """Definition problems in DRF's error shape: a form field's under `fields` (a list aligned with
    the fields sent), a page attribute's under its name, the form's as a whole under `fields`
    (or `non_field_errors` next to errors of single fields)."""
    errors: dict = {}
    by_row = [{} for _ in range(rows)]
    whole = []
    for problem in problems:
        if problem.row is not None:
            by_row[problem.row].setdefault(problem.attribute, []).append(problem.message)
        elif problem.attribute:
            errors.setdefault(problem.attribute, []).append(problem.message)
        else:
            whole.append(problem.message)
    if any(by_row):
        errors["fields"] = by_row
    if whole:
        errors["non_field_errors" if any(by_row) else "fields"] = whole
    return errors


class FormFieldSerializer(StrictModelSerializer):
    max_length = serializers.IntegerField(min_value=1, max_value=MAX_FIELD_LENGTH, default=200)
    choices = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, max_length=100
    )

    class Meta:
        model = FormField
        fields = (
            "name",
            "label",
            "field_type",
            "required",
            "max_length",
            "choices",
            "contact_field",
            "lead_field",
        )


class LandingPageSerializer(StrictModelSerializer):
    fields = FormFieldSerializer(many=True)
    public_url = serializers.SerializerMethodField()
    failed_submissions = serializers.IntegerField(
        read_only=True,
        default=0,
        help_text="Submissions whose processing failed and is not retried: fix the cause, then "
        "POST .../requeue-failed/ (list them with .../submissions/?status=failed).",
    )

    class Meta:
        model = LandingPage
        fields = (
            "id",
            "slug",
            "title",
            "content",
            "status",
            "lead_topic",
            "contact_matching",
            "lead_matching",
            "event",
            "submit_label",
            "consent_text",
            "consent_required",
            "identified_visitors_update",
            "consent_level",
            "thank_you_message",
            "redirect_url",
            "fields",
            "public_url",
            "failed_submissions",
            "created_by",
            "created_at",
            "updated_at",
        )
        read_only_fields = (
            "id",
            "public_url",
            "failed_submissions",
            "created_by",
            "created_at",
            "updated_at",
        )

    def get_public_url(self, page) -> str:
        return page.get_absolute_url()

    def validate(self, attrs):
        """The page definition check shared with the editor and the admin (landing.services)."""
        matching = attrs.get("contact_matching", getattr(self.instance, "contact_matching", None))
        fields = attrs.get("fields")
        if fields is None:
            fields = page_field_rows(self.instance.fields.all()) if self.instance is not None else []
        problems = landing_form_problems(fields=fields, contact_matching=matching or "email")
        if problems:
            raise serializers.ValidationError(problems_as_errors(problems, rows=len(fields)))
        return attrs

    def to_representation(self, page):
        body = super().to_representation(page)
        if not hasattr(page, "failed_submissions"):  # a page just saved: not from the annotated list
            body["failed_submissions"] = failed_submission_count(page)
        return body


class RequeueResultSerializer(serializers.Serializer):
    requeued = serializers.IntegerField(help_text="failed submissions sent through processing again")


class FormSubmissionSerializer(serializers.ModelSerializer):
    class Meta:
        model = FormSubmission
        fields = (
            "id",
            "page",
            "payload",
            "received_at",
            "ip_address",
            "user_agent",
            "status",
            "errors",
            "error",
            "attempts",
            "outcome",
            "processed_at",
            "contact",
            "lead",
        )
        read_only_fields = fields
