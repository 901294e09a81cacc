import csv

from django.db import transaction
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from crm_core import custom_fields
from crm_core.api.pagination import LargeListPagination
from crm_core.api.parsers import MultiPartParser
from crm_core.api.permissions import RoleModelPermissions
from crm_core.api.serializers import ContactSerializer
from crm_core.models import Contact
from segments import services
from segments.compiler import DefinitionError, contacts_queryset, registry_as_dict
from segments.models import Segment

from .members_csv import csv_emails
from .serializers import (
    MembersChangedSerializer,
    PreviewRequestSerializer,
    PreviewSerializer,
    RefreshSerializer,
    SegmentSerializer,
    StaticMembersCsvSerializer,
    StaticMembersSerializer,
)

SAMPLE_SIZE = 20
EXPORT_COLUMNS = ["id", "email", "first_name", "last_name", "job_role", "country", "parent_account_id"]


class ChangeSegmentPermission(RoleModelPermissions):
    """Changing a static segment's members needs the permission to change segments."""

    def has_permission(self, request, view):
        return bool(
            request.user
            and request.user.is_authenticated
            and request.user.has_perm("segments.change_segment")
        )


class _Echo:
    def write(self, value):
        return value


class SegmentViewSet(viewsets.ModelViewSet):
    """Segments: saved tree-view queries over contacts, with their stored membership.

    Writes (create, update, refresh, go-live, stop: POST/PUT/PATCH/DELETE) need the marketing
    role's segment permissions; sales may read, preview and export.
    """

    queryset = Segment.objects.all()
    serializer_class = SegmentSerializer
    permission_classes = [RoleModelPermissions]
    filterset_fields = ["status", "kind"]
    search_fields = ["name"]
    ordering_fields = ["id", "name", "member_count", "refreshed_at"]

    def _with_definition_errors(self, fn):
        try:
            with transaction.atomic():
                return fn()
        except DefinitionError as exc:
            from rest_framework.exceptions import ValidationError

            raise ValidationError({"definition": exc.errors}) from exc

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        segment = self._with_definition_errors(
            lambda: services.segment_create(
                name=data.pop("name"),
                definition=data.pop("definition", {}),
                created_by=self.request.user,
                **data,
            )
        )
        serializer.instance = segment

    def perform_update(self, serializer):
        self._with_definition_errors(
            lambda: services.segment_update(segment=serializer.instance, data=dict(serializer.validated_data))
        )

    @extend_schema(request=PreviewRequestSerializer, responses=PreviewSerializer)
    @action(detail=False, methods=["post"])
    def preview(self, request):
        """The count and a sample of 20 contacts a definition selects, without saving anything."""
        if not request.user.has_perm("segments.view_segment"):
            return Response({"detail": "You do not have permission to perform this action."}, status=403)
        body = PreviewRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        contacts = contacts_queryset(body.validated_data["definition"])
        sample = contacts.select_related("parent_account").order_by("id")[:SAMPLE_SIZE]
        return Response({"count": contacts.count(), "sample": ContactSerializer(sample, many=True).data})

    def get_permissions(self):
        if self.action == "preview":
            # Previewing writes nothing: anyone who may read segments may preview.
            from rest_framework.permissions import IsAuthenticated

            return [IsAuthenticated()]
        if self.action in ("members_add", "members_remove", "members_csv"):
            return [ChangeSegmentPermission()]  # a membership change changes the segment
        return super().get_permissions()

    @extend_schema(responses=ContactSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=LargeListPagination, filterset_fields=[])
    def members(self, request, pk=None):
        """The segment's current members (contacts), in cursor pages."""
        segment = self.get_object()
        contacts = Contact.objects.filter(segment_memberships__segment=segment).select_related(
            "parent_account"
        )
        page = self.paginate_queryset(contacts)
        return self.get_paginated_response(ContactSerializer(page, many=True).data)

    def _members_change(self, *, add: bool, contact_ids=(), emails=(), email_label=None):
        """Add or remove static members through the service; its refusal is one 400 naming each
        problem (`email_label(index)` names an email's place, e.g. its CSV row)."""
        segment = self.get_object()
        try:
            changed = services.static_segment_members_change(
                segment=segment, add=add, contact_ids=contact_ids, emails=emails
            )
        except services.MembershipRefused as refused:
            errors = dict(refused.errors)
            if email_label is not None and "emails" in errors:
                errors["file"] = [
                    f"{email_label(i)}: {m[0]}" for i, m in sorted(errors.pop("emails").items())
                ]
            raise ValidationError(errors) from refused
        segment.refresh_from_db(fields=["member_count"])
        return Response({"added" if add else "removed": changed, "member_count": segment.member_count})

    @extend_schema(request=StaticMembersSerializer, responses=MembersChangedSerializer)
    @members.mapping.post
    def members_add(self, request, pk=None):
        """Add contacts (by `contact_ids` and/or `emails`) to a static segment; members stay members."""
        body = StaticMembersSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._members_change(add=True, **body.validated_data)

    @extend_schema(request=StaticMembersSerializer, responses=MembersChangedSerializer)
    @members.mapping.delete
    def members_remove(self, request, pk=None):
        """Take contacts (by `contact_ids` and/or `emails`) out of a static segment."""
        body = StaticMembersSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._members_change(add=False, **body.validated_data)

    @extend_schema(
        request={"multipart/form-data": StaticMembersCsvSerializer}, responses=MembersChangedSerializer
    )
    @action(detail=True, methods=["post"], url_path="members/csv", parser_classes=[MultiPartParser])
    def members_csv(self, request, pk=None):
        """Add the contacts of a CSV of emails to a static segment: all of them, or none and a 400
        naming each bad or unknown email by its row."""
        body = StaticMembersCsvSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        emails, rows = csv_emails(body.validated_data["file"])
        return self._members_change(add=True, emails=emails, email_label=lambda i: f"row {rows[i]}")

    @extend_schema(request=None, responses=SegmentSerializer)
    @action(detail=True, methods=["post"])
    def duplicate(self, request, pk=None):
        """A draft copy of the segment: its definition, and a static segment's members."""
        copy = services.segment_duplicate(segment=self.get_object(), created_by=request.user)
        return Response(SegmentSerializer(copy).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=RefreshSerializer)
    @action(detail=True, methods=["post"])
    def refresh(self, request, pk=None):
        """Recompute the membership now."""
        segment = self.get_object()
        result = services.segment_refresh(segment_id=segment.pk)
        segment.refresh_from_db()
        return Response(
            {"added": result.added, "removed": result.removed, "seconds": result.seconds,
             "member_count": segment.member_count}
        )  # fmt: skip

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"])
    def export(self, request, pk=None):
        """The members as CSV, streamed: the built-in columns, then a `custom.<key>` column per custom
        field of contacts (as an import reads it back: multiple choices joined by ";")."""
        segment = self.get_object()
        custom = custom_fields.definitions("contact")  # a column `custom.<key>` each, as imports read it
        rows = (
            Contact.objects.filter(segment_memberships__segment=segment)
            .order_by("id")
            .values_list(*EXPORT_COLUMNS, "custom")
            .iterator(chunk_size=5000)
        )
        writer = csv.writer(_Echo())

        def stream():
            yield writer.writerow([*EXPORT_COLUMNS, *(field.name for field in custom)])
            for *row, values in rows:
                values = values or {}
                yield writer.writerow([*row, *(custom_fields.as_text(f, values.get(f.key)) for f in custom)])

        response = StreamingHttpResponse(stream(), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="segment-{segment.pk}.csv"'
        return response

    @extend_schema(request=None, responses=SegmentSerializer)
    @action(detail=True, methods=["post"], url_path="go-live")
    def go_live(self, request, pk=None):
        segment = self.get_object()
        return Response(SegmentSerializer(services.segment_go_live(segment=segment)).data)

    @extend_schema(request=None, responses=SegmentSerializer)
    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None):
        segment = self.get_object()
        return Response(SegmentSerializer(services.segment_stop(segment=segment)).data)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=False, methods=["get"])
    def registry(self, request):
        """Entities, fields (type, choices), operators and relationships a definition may use."""
        return Response(registry_as_dict(), status=status.HTTP_200_OK)
