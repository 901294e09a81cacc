import django_filters
from django.db.models import ProtectedError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from crm_core.api.pagination import StandardPagination
from crm_core.api.permissions import RoleModelPermissions
from crm_core.api.writes import ServiceWritesMixin

from ..models import LandingPage, PageStatus, SubmissionStatus
from ..selectors import landing_pages_with_failures
from ..services import landing_page_create, landing_page_update, submissions_requeue
from .serializers import FormSubmissionSerializer, LandingPageSerializer, RequeueResultSerializer


class LandingPageFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=PageStatus.choices)
    has_failed_submissions = django_filters.BooleanFilter(
        method="filter_has_failed", label="Only pages with (true) or without (false) failed submissions."
    )

    class Meta:
        model = LandingPage
        fields = ("status", "slug", "lead_topic")

    def filter_has_failed(self, queryset, name, value):
        return queryset.filter(failed_submissions__gt=0) if value else queryset.filter(failed_submissions=0)


class LandingPageViewSet(ServiceWritesMixin, viewsets.ModelViewSet):
    """Landing pages and their forms: marketers edit them, sales reps read them. Writes go through
    the page services (landing.services.pages), as every API write does (crm_core.api.writes)."""

    queryset = landing_pages_with_failures(LandingPage.objects.prefetch_related("fields"))
    serializer_class = LandingPageSerializer
    permission_classes = [RoleModelPermissions]
    pagination_class = StandardPagination
    filterset_class = LandingPageFilter
    search_fields = ("title", "slug", "lead_topic")
    ordering_fields = ("title", "slug", "created_at", "updated_at", "failed_submissions")
    ordering = ("title", "id")
    instance_kw = "page"

    @staticmethod
    def create_service(*, actor, fields, **data):
        return landing_page_create(data=data, fields=fields, created_by=actor)

    @staticmethod
    def update_service(*, page, actor, fields=None, **data):
        return landing_page_update(page=page, data=data, fields=fields)

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

    @extend_schema(request=None, responses=RequeueResultSerializer)
    @action(detail=True, methods=["post"], url_path="requeue-failed", url_name="requeue-failed")
    def requeue_failed(self, request, pk=None):
        """Send the page's failed submissions through processing again (after fixing the page)."""
        page = get_object_or_404(self.get_queryset(), pk=pk)
        self.check_object_permissions(request, page)
        if not request.user.has_perm("landing.change_formsubmission"):
            raise PermissionDenied("Only users who may change landing pages can re-queue their submissions.")
        requeued = submissions_requeue(submissions=page.submissions.all())
        return Response(RequeueResultSerializer({"requeued": requeued}).data)
