"""Django's bodiless 405 (require_POST and friends) becomes the workspace's error page, and a
database error that a retry can pass (a deadlock, a lock timeout, a restart) a 503 that says so, in
the API (JSON) and in the app, instead of a 500."""

from __future__ import annotations

import logging

from django.db import OperationalError

from .views.errors import database_unavailable, method_not_allowed

logger = logging.getLogger(__name__)


class ErrorPagesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 405 and not response.content and not request.path.startswith("/api/"):
            return method_not_allowed(request, response.get("Allow", ""))
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, OperationalError):
            logger.warning("%s %s answered 503: %s", request.method, request.path, exception)
            return database_unavailable(request, exception)
        return None
