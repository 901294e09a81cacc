"""The one DRF router every app registers its viewsets on (see each app's api/urls.py)."""

from rest_framework.routers import DefaultRouter

router = DefaultRouter()
