"""Minimal lead viewset carrying the lifecycle actions (replaced by the full API at merge)."""

from rest_framework import viewsets

from crm_core.models import Lead

from .lead_actions import LeadLifecycleActionsMixin
from .permissions import RoleModelPermissions


class LeadViewSet(LeadLifecycleActionsMixin, viewsets.GenericViewSet):
    queryset = Lead.objects.all()
    permission_classes = [RoleModelPermissions]
