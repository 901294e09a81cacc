from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from crm_core.api.serializers import StrictModelSerializer
from crm_core.jsontext import StorableJSONField

from ..conditions import ConditionError, condition_q
from ..models import GradeBand, ScoringModel, ScoringRule, grade_bands_validate


class GradeBandSerializer(StrictModelSerializer):
    class Meta:
        model = GradeBand
        fields = ("grade", "min_score", "max_score")


class ScoringRuleSerializer(StrictModelSerializer):
    condition = StorableJSONField(required=False, allow_null=True, default=None)

    class Meta:
        model = ScoringRule
        fields = (
            "id",
            "name",
            "interaction_kind",
            "url_contains",
            "email",
            "form",
            "event",
            "points",
            "max_count",
            "condition",
        )
        read_only_fields = ("id",)

    def validate(self, attrs):
        errors = {}
        kind, condition = attrs.get("interaction_kind"), attrs.get("condition")
        if kind is None and condition is None:
            errors["interaction_kind"] = ["Set an interaction kind, or a condition for a rule on the lead."]
        if kind is not None and condition is not None:
            errors["condition"] = ["A rule has either an interaction kind or a condition, not both."]
        if kind is None:
            for name in ("url_contains", "email", "form", "event"):
                if attrs.get(name):
                    errors[name] = ["Property filters apply to interaction rules only."]
            if attrs.get("max_count") is not None:
                errors["max_count"] = ["A cap applies to interaction rules only."]
        if attrs.get("max_count") == 0:
            errors["max_count"] = ["Ensure this value is greater than or equal to 1."]
        if condition is not None and "condition" not in errors:
            try:
                condition_q(condition)
            except ConditionError as error:
                errors["condition"] = [problem.as_dict() for problem in error.problems]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class ScoringModelSerializer(StrictModelSerializer):
    rules = ScoringRuleSerializer(many=True, required=False)
    grade_bands = GradeBandSerializer(many=True, required=False)
    # Declared so DRF adds no generic validator for the one-primary constraint (validate() explains it).
    is_primary = serializers.BooleanField(required=False, default=False)

    class Meta:
        model = ScoringModel
        fields = (
            "id",
            "name",
            "status",
            "is_primary",
            "sales_ready_threshold",
            "handoff_rearm_margin",
            "decay_mode",
            "decay_days",
            "rules",
            "grade_bands",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "created_at", "updated_at")

    def validate_grade_bands(self, bands):
        incomplete = [i for i, band in enumerate(bands) if "grade" not in band or "min_score" not in band]
        if incomplete:  # a PATCH does not make nested fields required; the bands replace the old ones
            raise serializers.ValidationError(
                [f"Band {i}: grade and min_score are required." for i in incomplete]
            )
        try:
            grade_bands_validate(bands)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from error
        return bands

    def validate(self, attrs):
        def value(name):
            return attrs.get(name, getattr(self.instance, name, None) if self.instance else None)

        errors = {}
        decay_mode = value("decay_mode") or "none"
        if decay_mode != "none" and not value("decay_days"):
            errors["decay_days"] = [f"Decay mode '{decay_mode}' needs a number of days (at least 1)."]
        if value("is_primary"):
            if (value("status") or "draft") != "live":
                errors["is_primary"] = ["Only a live model can be the primary model."]
            other = ScoringModel.objects.filter(is_primary=True)
            if self.instance is not None:
                other = other.exclude(pk=self.instance.pk)
            other = other.first()
            if other is not None:
                errors.setdefault("is_primary", []).append(
                    f"'{other.name}' is the primary model; make it not primary first."
                )
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class NotCountedSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=["repeat", "machine", "over_cap"])
    count = serializers.IntegerField()
    why = serializers.CharField()


class ExplanationRowSerializer(serializers.Serializer):
    rule_id = serializers.IntegerField()
    rule = serializers.CharField()
    points = serializers.IntegerField()
    count = serializers.IntegerField()
    not_counted = NotCountedSerializer(many=True, help_text="Matches that gave nothing, and why.")


class LeadModelScoreSerializer(serializers.Serializer):
    model = serializers.IntegerField()
    model_name = serializers.CharField()
    is_primary = serializers.BooleanField()
    score = serializers.IntegerField(allow_null=True, help_text="Stored score (as of computed_at).")
    grade = serializers.CharField(allow_null=True)
    sales_ready = serializers.BooleanField(allow_null=True)
    computed_at = serializers.DateTimeField(allow_null=True)
    current_score = serializers.IntegerField(help_text="The score as of now: the sum of the explanation.")
    explanation = ExplanationRowSerializer(many=True)


class LeadScoreResponseSerializer(serializers.Serializer):
    lead = serializers.IntegerField()
    scores = LeadModelScoreSerializer(many=True)
