from rest_framework import serializers

from ..forms import MAX_FIELD_LENGTH
from ..models import ContactMatching, FieldType, FormField, FormSubmission, LandingPage
from ..services import MATCHING_FIELDS, landing_page_create, landing_page_update


class StrictSerializerMixin:
    """Refuse keys the serializer does not know, instead of ignoring them silently."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class FormFieldSerializer(StrictSerializerMixin, serializers.ModelSerializer):
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

    def validate(self, attrs):
        if attrs.get("field_type") == FieldType.CHOICE and not attrs.get("choices"):
            raise serializers.ValidationError({"choices": ["A choice field needs at least one choice."]})
        return attrs


class LandingPageSerializer(StrictSerializerMixin, serializers.ModelSerializer):
    fields = FormFieldSerializer(many=True)
    public_url = serializers.SerializerMethodField()

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
            "submit_label",
            "consent_text",
            "consent_required",
            "consent_level",
            "thank_you_message",
            "redirect_url",
            "fields",
            "public_url",
            "created_by",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "public_url", "created_by", "created_at", "updated_at")

    def get_public_url(self, page) -> str:
        return page.get_absolute_url()

    def validate_fields(self, fields):
        errors = []
        names = [f["name"] for f in fields]
        if len(names) != len(set(names)):
            errors.append("Field names must be unique.")
        for target in ("contact_field", "lead_field"):
            mapped = [f[target] for f in fields if f.get(target)]
            if len(mapped) != len(set(mapped)):
                errors.append(f"Each {target.replace('_', ' ')} may be mapped by one form field only.")
        email_fields = [f for f in fields if f.get("contact_field") == "email"]
        if len(email_fields) != 1:
            errors.append("Exactly one field must map to the contact's email.")
        elif not email_fields[0].get("required") or email_fields[0].get("field_type") != FieldType.EMAIL:
            errors.append("The field mapped to the contact's email must be a required email field.")
        if errors:
            raise serializers.ValidationError(errors)
        return fields

    def validate(self, attrs):
        strategy = attrs.get(
            "contact_matching", getattr(self.instance, "contact_matching", ContactMatching.EMAIL)
        )
        fields = attrs.get("fields")
        if fields is None and self.instance is not None:
            fields = list(self.instance.fields.values("contact_field"))
        mapped = {f.get("contact_field") for f in fields or []}
        missing = [name for name in MATCHING_FIELDS[strategy] if name not in mapped]
        if missing:
            raise serializers.ValidationError(
                {"contact_matching": [f"This strategy needs a form field mapped to {', '.join(missing)}."]}
            )
        return attrs

    def create(self, validated_data):
        fields = validated_data.pop("fields")
        return landing_page_create(
            data=validated_data, fields=fields, created_by=self.context["request"].user
        )

    def update(self, instance, validated_data):
        fields = validated_data.pop("fields", None)
        return landing_page_update(page=instance, data=validated_data, fields=fields)


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
