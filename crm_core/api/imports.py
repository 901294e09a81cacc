"""Imports with column mapping over the API (marketers and admins: `access.check_import`):

- `POST /api/imports/` (multipart: `entity`, `file`): store the file; 201 with the header, the
  suggested (or remembered) mapping and the mappable fields;
- `POST /api/imports/{id}/mapping/` (`mapping`, `on_known_email`): save the mapping; 200 with the
  preview of the first rows and their errors;
- `POST /api/imports/{id}/run/`: queue the run; 202;
- `GET /api/imports/{id}/`: status, progress and counts; `GET /api/imports/{id}/report/`: the CSV.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from crm_core import access
from crm_core.models import ImportEntity, ImportJob, KnownEmail
from crm_core.services.import_files import import_targets
from crm_core.services.import_jobs import (
    import_job_create,
    import_job_map,
    import_job_progress,
    import_job_start,
)

from .pagination import StandardPagination
from .parsers import JSONParser, MultiPartParser
from .permissions import RoleModelPermissions
from .serializers import StrictSerializer


class MayImport(BasePermission):
    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        access.check_import(request.user)
        return True


class ImportUploadSerializer(StrictSerializer):
    entity = serializers.ChoiceField(choices=ImportEntity.choices)
    file = serializers.FileField()


class ImportMappingSerializer(StrictSerializer):
    mapping = serializers.DictField(child=serializers.CharField(allow_blank=True))
    on_known_email = serializers.ChoiceField(choices=KnownEmail.choices, default=KnownEmail.UPDATE)


class ImportJobSerializer(serializers.ModelSerializer):
    targets = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    report_url = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id", "entity", "file_name", "file_format", "header", "mapping", "on_known_email", "status",
            "total_rows", "created_count", "updated_count", "skipped_count", "failed_count", "error",
            "targets", "progress", "report_url", "created_at", "started_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_targets(self, job) -> list[dict]:
        by_entity = self.context.setdefault("import_targets", {})  # one query per entity on a list page
        if job.entity not in by_entity:
            by_entity[job.entity] = [
                {"name": t.name, "label": t.label, "required": t.required, "custom": t.custom}
                for t in import_targets(job.entity)
            ]
        return by_entity[job.entity]

    def get_progress(self, job) -> dict:
        return import_job_progress(job)

    def get_report_url(self, job) -> str | None:
        return f"/api/imports/{job.pk}/report/" if job.report else None


def _field_errors(error: DjangoValidationError) -> ValidationError:
    return ValidationError(error.message_dict if hasattr(error, "error_dict") else {"detail": error.messages})


class ImportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Imports of contacts, accounts and leads from CSV or XLSX files."""

    queryset = ImportJob.objects.all()
    serializer_class = ImportJobSerializer
    permission_classes = [MayImport, RoleModelPermissions]
    pagination_class = StandardPagination
    parser_classes = [MultiPartParser, JSONParser]

    @extend_schema(
        request={"multipart/form-data": ImportUploadSerializer}, responses={201: ImportJobSerializer}
    )
    def create(self, request):
        upload = ImportUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        try:
            data = upload.validated_data
            job = import_job_create(actor=request.user, entity=data["entity"], upload=data["file"])
        except DjangoValidationError as error:
            raise _field_errors(error) from error
        return Response(ImportJobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ImportMappingSerializer, responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def mapping(self, request, pk=None):
        job = self.get_object()
        body = ImportMappingSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            preview = import_job_map(job=job, actor=request.user, **body.validated_data)
        except DjangoValidationError as error:
            raise _field_errors(error) from error
        rows = [
            {
                "row": row.row,
                "cells": row.cells,
                "errors": [{"column": e.column, "field": e.field, "message": e.message} for e in row.errors],
            }
            for row in preview
        ]
        return Response({**ImportJobSerializer(job).data, "preview": rows})

    @extend_schema(request=None, responses={202: ImportJobSerializer})
    @action(detail=True, methods=["post"])
    def run(self, request, pk=None):
        try:
            job = import_job_start(job=self.get_object(), actor=request.user)
        except DjangoValidationError as error:
            raise _field_errors(error) from error
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def report(self, request, pk=None):
        job = self.get_object()
        if not job.report:
            raise NotFound("This import has no report yet.")
        return FileResponse(
            job.report.open("rb"),
            as_attachment=True,
            filename=f"import-{job.pk}-report.csv",
            content_type="text/csv",
        )
