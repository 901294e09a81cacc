"""API routes of the landing app."""

from .views import LandingPageViewSet


def register(router) -> None:
    router.register("landing-pages", LandingPageViewSet, basename="landingpage")
