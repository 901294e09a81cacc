"""Django's bodiless 405 (require_POST and friends) becomes the workspace's error page."""

from __future__ import annotations

from .views.errors import method_not_allowed


class ErrorPagesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 405 and not response.content and not request.path.startswith("/api/"):
            return method_not_allowed(request, response.get("Allow", ""))
        return response
