"""Activities and tasks: sales reps log and edit their own, marketers read, admins do anything.

Model permissions (`RoleModelPermissions`) decide who reads and writes at all; `crm_core.access`
decides whose item a rep may change (403 with the reason). Writes go through `sales.services`, the
way every API write reaches its service (crm_core.api.writes).
"""

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import viewsets

from crm_core import access
from crm_core.api.filters import DATE_RANGE, StrictBooleanFilter, StrictFilterSet
from crm_core.api.ordering import KeysetOrderingFilter
from crm_core.api.pagination import KeysetPagination
from crm_core.api.permissions import RoleModelPermissions
from crm_core.api.writes import ServiceWritesMixin

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


class _Base(ServiceWritesMixin, viewsets.ModelViewSet):
    permission_classes = [RoleModelPermissions]
    pagination_class = KeysetPagination
    filter_backends = [DjangoFilterBackend, KeysetOrderingFilter]
    ordering_fields = ["id"]


class ActivityViewSet(_Base):
    """Notes, calls (outcome, duration), meetings (time, attendees) and emails logged on CRM records."""

    queryset = Activity.objects.all()
    serializer_class = ActivitySerializer
    filterset_class = ActivityFilter
    create_service = staticmethod(services.activity_log)
    update_service = staticmethod(services.activity_update)
    delete_service = staticmethod(services.activity_delete)


class TaskViewSet(_Base):
    """Tasks: by hand, from a journey's task step, or the sales-ready hand-off ("call within 24 h")."""

    queryset = Task.objects.all()
    serializer_class = TaskSerializer
    filterset_class = TaskFilter
    delete_service = staticmethod(services.task_delete)

    @staticmethod
    def create_service(*, actor, done=False, **fields):
        task = services.task_create(actor=actor, **fields)
        return services.task_complete(actor=actor, task=task) if done else task

    @staticmethod
    def update_service(*, task, actor, done=None, **fields):
        if fields:
            task = services.task_update(actor=actor, task=task, **fields)
        if done is not None:
            task = services.task_complete(actor=actor, task=task, done=done)
        elif not fields:  # nothing to change: still only its owner may "change" it
            access.check_task_edit(actor, task)
        return task
