"""The API's documentation page (Swagger UI) from the drf-spectacular-sidecar package: every file is
served by this app, so the page works without internet, under the site's CSP (Swagger UI writes
inline styles, so this page alone allows them; scripts stay our own files only).

A visitor who is not logged in gets a page with a login link back to the docs instead of a bare 401
(the schema itself, /api/schema/, stays for signed-in users only)."""

from __future__ import annotations

from csp.decorators import csp_update
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.permissions import IsAuthenticated

from .errors import error_page

SIGN_IN_REASON = "The API documentation is for signed-in users: log in, and you come back to it."


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI; the split view serves its start-up script as a file (?script), not inline."""

    url_name = "api-schema"
    permission_classes = [IsAuthenticated]

    def handle_exception(self, exc):
        if isinstance(exc, NotAuthenticated | AuthenticationFailed):
            response = error_page(
                self.request._request,
                status=401,
                title="Log in to read the API documentation",
                reason=SIGN_IN_REASON,
                page=True,
            )
            # The API's own scheme: `Authorization: Token <token>` (or the session after logging in).
            response["WWW-Authenticate"] = 'Token realm="api"'
            return response
        return super().handle_exception(exc)


swagger_ui = csp_update({"style-src": ["'unsafe-inline'"]})(ApiDocsView.as_view())
