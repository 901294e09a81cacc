from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from crm_core.api.pagination import StandardPagination
from crm_core.api.permissions import RoleModelPermissions

from .. import selectors, services
from ..models import Journey
from .serializers import JourneySerializer, as_drf_error


class JourneyViewSet(viewsets.ModelViewSet):
    """Journeys with their steps. Marketers edit; sales may only read."""

    serializer_class = JourneySerializer
    permission_classes = [RoleModelPermissions]
    pagination_class = StandardPagination
    filterset_fields = ["status", "entry_type", "trigger_kind"]
    search_fields = ["name"]
    ordering_fields = ["id", "name", "created_at", "status"]

    def get_queryset(self):
        return selectors.journey_list().order_by("-id")

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="repeat a create safely: the same key (per user) returns the journey the first "
                "request made, with 200",
            )
        ]
    )
    def create(self, request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key", "").strip()
        if key:
            if len(key) > 100:
                raise as_drf_error(DjangoValidationError({"Idempotency-Key": ["at most 100 characters"]}))
            self.create_token = f"api:{request.user.pk}:{key}"
            existing = Journey.objects.filter(create_token=self.create_token).first()
            if existing is not None:
                return Response(self.get_serializer(existing).data, status=status.HTTP_200_OK)
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        steps = data.pop("steps", [])
        try:
            serializer.instance = services.journey_create(
                data=data,
                steps=steps,
                created_by=self.request.user,
                create_token=getattr(self, "create_token", None),
            )
        except DjangoValidationError as error:
            raise as_drf_error(error) from error

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        steps = data.pop("steps", None)
        try:
            serializer.instance = services.journey_update(journey=serializer.instance, data=data, steps=steps)
        except DjangoValidationError as error:
            raise as_drf_error(error) from error

    def perform_destroy(self, instance):
        if instance.status != "draft":
            raise as_drf_error(
                DjangoValidationError({"status": ["only draft journeys can be deleted; stop it"]})
            )
        instance.delete()

    def _transition(self, request, service):
        journey = self.get_object()
        try:
            with transaction.atomic():
                journey = service(journey=journey)
        except DjangoValidationError as error:
            raise as_drf_error(error) from error
        return Response(self.get_serializer(journey).data)

    @extend_schema(request=None, responses=JourneySerializer)
    @action(detail=True, methods=["post"], url_path="go-live")
    def go_live(self, request, pk=None):
        """Go live (from draft or paused): contacts start entering at the next tick."""
        return self._transition(request, services.journey_go_live)

    @extend_schema(request=None, responses=JourneySerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        """Pause: nobody enters or moves until it goes live again."""
        return self._transition(request, services.journey_pause)

    @extend_schema(request=None, responses=JourneySerializer)
    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None):
        """Stop for good: every open enrollment exits."""
        return self._transition(request, services.journey_stop)

    @extend_schema(responses={200: OpenApiResponse(description="counts per journey and per step")})
    @action(detail=True, methods=["get"])
    def stats(self, request, pk=None):
        """Entered, active, waiting, completed, exited; emails sent, opened, clicked, skipped by consent;
        and the same per step."""
        return Response(selectors.journey_stats(journey=self.get_object()))
