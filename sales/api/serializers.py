from django.contrib.auth import get_user_model
from rest_framework import serializers

from crm_core import models as crm
from crm_core.api.serializers import StrictModelSerializer

from ..models import Activity, Task

RECORD_HELP = (
    "Exactly one of contact, lead, account or opportunity names the record; the others are filled in."
)


def _record_fields():
    return {
        "contact": serializers.PrimaryKeyRelatedField(
            queryset=crm.Contact.objects.all(), required=False, allow_null=True
        ),
        "lead": serializers.PrimaryKeyRelatedField(
            queryset=crm.Lead.objects.all(), required=False, allow_null=True
        ),
        "account": serializers.PrimaryKeyRelatedField(
            queryset=crm.Account.objects.all(), required=False, allow_null=True
        ),
        "opportunity": serializers.PrimaryKeyRelatedField(
            queryset=crm.Opportunity.objects.all(), required=False, allow_null=True
        ),
    }


class _RecordSerializer(StrictModelSerializer):
    """On create exactly one record; on update the record cannot change (sent back unchanged is fine)."""

    def get_fields(self):
        fields = super().get_fields()
        fields.update(_record_fields())
        for name in ("contact", "lead", "account", "opportunity"):
            fields[name].help_text = RECORD_HELP
        return fields

    def validate(self, attrs):
        named = {
            name: attrs.pop(name) for name in ("contact", "lead", "account", "opportunity") if name in attrs
        }
        if self.instance is None:
            given = {name: value for name, value in named.items() if value is not None}
            if len(given) != 1:
                raise serializers.ValidationError(
                    {"non_field_errors": ["Name exactly one of contact, lead, account or opportunity."]}
                )
            attrs.update(given)
        else:
            for name, value in named.items():
                if (value.pk if value else None) != getattr(self.instance, f"{name}_id"):
                    raise serializers.ValidationError({name: ["The record of an item cannot be changed."]})
        return attrs


class ActivitySerializer(_RecordSerializer):
    duration_minutes = serializers.IntegerField(
        min_value=0, max_value=24 * 60, required=False, allow_null=True
    )

    class Meta:
        model = Activity
        fields = [
            "id",
            "kind",
            "subject",
            "body",
            "outcome",
            "duration_minutes",
            "meeting_at",
            "attendees",
            "occurred_at",
            "contact",
            "lead",
            "account",
            "opportunity",
            "author",
            "created_at",
        ]
        read_only_fields = ["id", "author", "created_at"]
        extra_kwargs = {"occurred_at": {"required": False}}


class _OptionalBooleanField(serializers.BooleanField):
    """A boolean that is absent when not sent, in form bodies too (DRF reads a missing checkbox as false)."""

    default_empty_html = serializers.empty


class TaskSerializer(_RecordSerializer):
    owner = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.all(), required=False, help_text="Default: you."
    )
    done = _OptionalBooleanField(
        required=False, help_text="Set true to complete the task, false to reopen it."
    )

    class Meta:
        model = Task
        fields = [
            "id",
            "title",
            "description",
            "due_at",
            "owner",
            "done",
            "done_at",
            "source",
            "journey_id",
            "contact",
            "lead",
            "account",
            "opportunity",
            "created_by",
            "created_at",
        ]
        read_only_fields = ["id", "done_at", "source", "journey_id", "created_by", "created_at"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["done"] = instance.done_at is not None
        return data
