"""Activities and tasks: sales reps log and edit their own, marketers read, admins do anything.

Model permissions (`RoleModelPermissions`) decide who reads and writes at all; `crm_core.access`
decides whose item a rep may change (403 with the reason). Writes go through `sales.services`.
"""

from django.db import transaction
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import viewsets

from crm_core.api.filters import DATE_RANGE, StrictBooleanFilter, StrictFilterSet
from crm_core.api.ordering import KeysetOrderingFilter
from crm_core.api.pagination import KeysetPagination
from crm_core.api.permissions import RoleModelPermissions

from .. import services
from ..models import Activity, Task
from .serializers import ActivitySerializer, TaskSerializer

RECORDS = {"contact": ["exact"], "lead": ["exact"], "account": ["exact"], "opportunity": ["exact"]}


class ActivityFilter(StrictFilterSet):
    class Meta:
        model = Activity
        fields = {**RECORDS, "kind": ["exact"], "author": ["exact"], "occurred_at": DATE_RANGE}


class TaskFilter(StrictFilterSet):
    done = StrictBooleanFilter(field_name="done_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = Task
        fields = {
            **RECORDS,
            "owner": ["exact"],
            "source": ["exact"],
            "journey_id": ["exact"],
            "due_at": DATE_RANGE,
        }


class _Base(viewsets.ModelViewSet):
    permission_classes = [RoleModelPermissions]
    pagination_class = KeysetPagination
    filter_backends = [DjangoFilterBackend, KeysetOrderingFilter]
    ordering_fields = ["id"]


class ActivityViewSet(_Base):
    """Notes, calls (outcome, duration), meetings (time, attendees) and emails logged on CRM records."""

    queryset = Activity.objects.all()
    serializer_class = ActivitySerializer
    filterset_class = ActivityFilter

    def perform_create(self, serializer):
        serializer.instance = services.activity_log(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.activity_update(
            actor=self.request.user, activity=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.activity_delete(actor=self.request.user, activity=instance)


class TaskViewSet(_Base):
    """Tasks: by hand, from a journey's task step, or the sales-ready hand-off ("call within 24 h")."""

    queryset = Task.objects.all()
    serializer_class = TaskSerializer
    filterset_class = TaskFilter

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        done = data.pop("done", False)
        with transaction.atomic():
            task = services.task_create(actor=self.request.user, **data)
            if done:
                task = services.task_complete(actor=self.request.user, task=task)
        serializer.instance = task

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        done = data.pop("done", None)
        with transaction.atomic():
            task = serializer.instance
            if data:
                task = services.task_update(actor=self.request.user, task=task, **data)
            if done is not None:
                task = services.task_complete(actor=self.request.user, task=task, done=done)
            elif not data:  # nothing to change: still only its owner may "change" it
                from crm_core import access

                access.check_task_edit(self.request.user, task)
        serializer.instance = task

    def perform_destroy(self, instance):
        services.task_delete(actor=self.request.user, task=instance)
