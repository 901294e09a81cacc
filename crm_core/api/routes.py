"""The CRM resources on the API router, plus the token endpoint, the schema and its docs, and the
admins' privacy endpoints for a contact (export, erase: crm_core.api.privacy)."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views
from .privacy import ContactEraseView, ContactExportView


def register(router) -> None:
    router.register("accounts", views.AccountViewSet)
    router.register("contacts", views.ContactViewSet)
    router.register("leads", views.LeadViewSet)
    router.register("opportunities", views.OpportunityViewSet)
    router.register("interactions", views.InteractionViewSet)
    router.register("subscription-lists", views.SubscriptionListViewSet)
    router.register("custom-fields", views.CustomFieldViewSet)


urlpatterns = [
    path("auth/token/", views.AuthTokenView.as_view(), name="api-auth-token"),
    path("auth/token/rotate/", views.AuthTokenRotateView.as_view(), name="api-auth-token-rotate"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("contacts/<int:pk>/export/", ContactExportView.as_view(), name="contact-export"),
    path("contacts/<int:pk>/erase/", ContactEraseView.as_view(), name="contact-erase"),
]
