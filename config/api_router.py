"""The one DRF router of the API.

Each app that serves API resources has `<app>/api/routes.py` with
`register(router)` (and optionally `urlpatterns` for non-viewset paths under
/api/); they are wired here in the order of LOCAL_APPS.
"""

from rest_framework.routers import DefaultRouter

from .app_modules import app_modules

router = DefaultRouter()
extra_urlpatterns: list = []

for _routes in app_modules("api.routes"):
    _routes.register(router)
    extra_urlpatterns += getattr(_routes, "urlpatterns", [])
