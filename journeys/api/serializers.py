from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from crm_core.api.serializers import StrictModelSerializer
from crm_core.jsontext import StorableJSONField, storable_json_mapping

from ..models import Journey
from ..selectors import step_representation
from ..services import validate_entry, validate_steps

JOURNEY_FIELDS = (
    "name",
    "description",
    "entry_type",
    "entry_segment_id",
    "trigger_kind",
    "trigger_config",
    "suppression_segment_id",
    "min_consent_level",
    "subscription_list",
    "allow_reentry",
    "exit_on_sales_ready",
    "exit_condition",
)


class JourneySerializer(StrictModelSerializer):
    serializer_field_mapping = storable_json_mapping(serializers.ModelSerializer.serializer_field_mapping)
    steps = StorableJSONField(
        required=False,
        help_text="list of {key, kind, config, next?, else?}; the first step is the entry; `next` defaults "
        "to the following step; editable only while draft",
    )

    class Meta:
        model = Journey
        fields = ("id", *JOURNEY_FIELDS, "status", "went_live_at", "created_at", "updated_at", "steps")
        read_only_fields = ("status", "went_live_at", "created_at", "updated_at")

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["expected a JSON object"]})
        return super().to_internal_value(data)  # unknown fields are refused (StrictModelSerializer)

    def validate(self, attrs):
        errors = {}
        if "steps" in attrs:
            errors.update(validate_steps(attrs["steps"]))
        elif self.instance is None:
            attrs["steps"] = []
        merged = {f: getattr(self.instance, f) for f in JOURNEY_FIELDS} if self.instance else {}
        merged.update({k: v for k, v in attrs.items() if k != "steps"})
        errors.update(validate_entry(merged))
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def to_representation(self, instance):
        data = super().to_representation(instance)
        steps = list(instance.steps.all())
        keys = {step.pk: step.key for step in steps}
        data["steps"] = [
            step_representation(step, keys) for step in sorted(steps, key=lambda s: (s.position, s.pk))
        ]
        return data


def as_drf_error(error: DjangoValidationError) -> serializers.ValidationError:
    return serializers.ValidationError(error.message_dict if hasattr(error, "error_dict") else error.messages)
