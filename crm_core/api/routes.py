"""API routes of crm_core (minimal: the full API replaces this at merge)."""

from .views import LeadViewSet


def register(router):
    router.register("leads", LeadViewSet, basename="lead")
