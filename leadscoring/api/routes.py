"""API routes of lead scoring: /api/scoring-models/ and /api/leads/{id}/score/."""

from django.urls import path

from .views import LeadScoreView, ScoringModelViewSet


def register(router) -> None:
    router.register("scoring-models", ScoringModelViewSet, basename="scoringmodel")


urlpatterns = [path("leads/<int:pk>/score/", LeadScoreView.as_view(), name="lead-score")]
