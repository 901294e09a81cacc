"""The CRM resources on the API router, plus the token endpoint, the schema (its docs page, /api/docs/,
is the workspace's: workspace/views/api_docs.py), and the admins' privacy endpoints for a contact
(export, erase: crm_core.api.privacy)."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from . import views
from .events import EventRegistrationViewSet, EventViewSet
from .imports import ImportJobViewSet
from .privacy import ContactEraseView, ContactExportView


def register(router) -> None:
    router.register("accounts", views.AccountViewSet)
    router.register("contacts", views.ContactViewSet)
    router.register("leads", views.LeadViewSet)
    router.register("opportunities", views.OpportunityViewSet)
    router.register("interactions", views.InteractionViewSet)
    router.register("subscription-lists", views.SubscriptionListViewSet)
    router.register("imports", ImportJobViewSet)
    router.register("custom-fields", views.CustomFieldViewSet)
    router.register("events", EventViewSet)
    router.register("event-registrations", EventRegistrationViewSet)


urlpatterns = [
    path("auth/token/", views.AuthTokenView.as_view(), name="api-auth-token"),
    path("auth/token/rotate/", views.AuthTokenRotateView.as_view(), name="api-auth-token-rotate"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("contacts/<int:pk>/export/", ContactExportView.as_view(), name="contact-export"),
    path("contacts/<int:pk>/erase/", ContactEraseView.as_view(), name="contact-erase"),
]
