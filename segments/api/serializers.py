from rest_framework import serializers

from crm_core.api.serializers import ContactSerializer, StrictModelSerializer, StrictSerializer
from crm_core.jsontext import StorableJSONField
from segments.compiler import validate_definition
from segments.models import Segment, SegmentKind
from segments.services import MEMBERS_PER_REQUEST


class SegmentSerializer(StrictModelSerializer):
    # A static segment's members are a list: its definition may be left out.
    definition = StorableJSONField(required=False)

    class Meta:
        model = Segment
        fields = [
            "id", "name", "description", "definition", "kind", "status", "member_count", "refreshed_at",
            "last_refresh_seconds", "last_refresh_added", "last_refresh_removed", "version", "created_at",
            "updated_at",
        ]  # fmt: skip
        read_only_fields = [
            "status", "member_count", "refreshed_at", "last_refresh_seconds", "last_refresh_added",
            "last_refresh_removed", "version", "created_at", "updated_at",
        ]  # fmt: skip

    def validate(self, attrs):
        kind = self.instance.kind if self.instance else attrs.get("kind", SegmentKind.DYNAMIC)
        if self.instance and "kind" in attrs and attrs["kind"] != self.instance.kind:
            raise serializers.ValidationError({"kind": ["A segment's kind cannot change once made."]})
        definition = attrs.get("definition")
        if definition is None and not self.instance and kind != SegmentKind.STATIC:
            raise serializers.ValidationError({"definition": ["This field is required."]})
        if definition is not None and (definition or kind != SegmentKind.STATIC):
            errors = validate_definition(definition, segment_id=self.instance.pk if self.instance else None)
            if errors:
                raise serializers.ValidationError({"definition": errors})
        return attrs


class StaticMembersSerializer(StrictSerializer):
    """Contacts to add to (or remove from) a static segment, by id, by email, or both."""

    contact_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=MEMBERS_PER_REQUEST
    )
    emails = serializers.ListField(
        child=serializers.CharField(max_length=254), required=False, max_length=MEMBERS_PER_REQUEST
    )

    def validate(self, attrs):
        if not attrs.get("contact_ids") and not attrs.get("emails"):
            raise serializers.ValidationError(
                {"non_field_errors": ["Name the contacts: `contact_ids`, `emails` or both."]}
            )
        return attrs


class StaticMembersCsvSerializer(StrictSerializer):
    file = serializers.FileField(help_text="a CSV of emails: an `email` column, or one column without header")


class MembersChangedSerializer(serializers.Serializer):
    added = serializers.IntegerField(required=False)
    removed = serializers.IntegerField(required=False)
    member_count = serializers.IntegerField()


class PreviewRequestSerializer(serializers.Serializer):
    definition = StorableJSONField()

    def validate_definition(self, definition):
        errors = validate_definition(definition)
        if errors:
            raise serializers.ValidationError(errors)
        return definition


class PreviewSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    sample = ContactSerializer(many=True)


class RefreshSerializer(serializers.Serializer):
    added = serializers.IntegerField()
    removed = serializers.IntegerField()
    seconds = serializers.FloatField()
    member_count = serializers.IntegerField()
