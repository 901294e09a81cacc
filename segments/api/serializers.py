from rest_framework import serializers

from crm_core.api.serializers import ContactSerializer, StrictModelSerializer
from crm_core.jsontext import StorableJSONField
from segments.compiler import validate_definition
from segments.models import Segment


class SegmentSerializer(StrictModelSerializer):
    definition = StorableJSONField()

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

    def validate_definition(self, definition):
        errors = validate_definition(definition, segment_id=self.instance.pk if self.instance else None)
        if errors:
            raise serializers.ValidationError(errors)
        return definition


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
