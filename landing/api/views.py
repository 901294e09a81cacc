from django.db.models import ProtectedError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from crm_core.api.pagination import StandardPagination
from crm_core.api.permissions import RoleModelPermissions

from ..models import LandingPage, SubmissionStatus
from .serializers import FormSubmissionSerializer, LandingPageSerializer


class LandingPageViewSet(viewsets.ModelViewSet):
    """Landing pages and their forms: marketers edit them, sales reps read them."""

    queryset = LandingPage.objects.prefetch_related("fields")
    serializer_class = LandingPageSerializer
    permission_classes = [RoleModelPermissions]
    pagination_class = StandardPagination
    filterset_fields = ("status", "slug", "lead_topic")
    search_fields = ("title", "slug", "lead_topic")
    ordering_fields = ("title", "slug", "created_at", "updated_at")
    ordering = ("title", "id")

    def destroy(self, request, *args, **kwargs):
        try:
            return super().destroy(request, *args, **kwargs)
        except ProtectedError:
            return Response(
                {"detail": "This page has received submissions; set it to draft instead of deleting it."},
                status=status.HTTP_409_CONFLICT,
            )

    @extend_schema(
        responses=FormSubmissionSerializer(many=True),
        parameters=[OpenApiParameter("status", str, enum=SubmissionStatus.values)],
    )
    @action(detail=True, methods=["get"])
    def submissions(self, request, pk=None):
        """The page's submissions as received, newest first, with their processing status."""
        # Not self.get_object(): the page list's filters (?status=draft) must not apply to submissions.
        page = get_object_or_404(self.get_queryset(), pk=pk)
        self.check_object_permissions(request, page)
        submissions = page.submissions.order_by("-received_at", "-id")
        status_filter = request.query_params.get("status")
        if status_filter:
            if status_filter not in SubmissionStatus.values:
                raise ValidationError({"status": [f"Expected one of {', '.join(SubmissionStatus.values)}."]})
            submissions = submissions.filter(status=status_filter)
        paginated = self.paginate_queryset(submissions)
        return self.get_paginated_response(FormSubmissionSerializer(paginated, many=True).data)
