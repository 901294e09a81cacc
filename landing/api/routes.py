"""API routes of the landing app, and the admins' privacy endpoints for contacts (crm_core.api.privacy)."""

from django.urls import path

from crm_core.api.privacy import ContactEraseView, ContactExportView

from .views import LandingPageViewSet


def register(router) -> None:
    router.register("landing-pages", LandingPageViewSet, basename="landingpage")


urlpatterns = [
    path("contacts/<int:pk>/export/", ContactExportView.as_view(), name="contact-export"),
    path("contacts/<int:pk>/erase/", ContactEraseView.as_view(), name="contact-erase"),
]
