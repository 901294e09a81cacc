from django.contrib import admin
from django.urls import include, path

from workspace.views import api_docs
from workspace.views.auth import LimitedAdminAuthenticationForm, LimitedLoginView

from .api_router import extra_urlpatterns, router
from .app_modules import LOCAL_APPS, module_exists

# Both logins refuse a username locked by too many failed attempts (crm_core.login_limits).
admin.site.login_form = LimitedAdminAuthenticationForm

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", LimitedLoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    # The API's docs page, served from the drf-spectacular-sidecar package (no CDN).
    path("api/", include([path("docs/", api_docs.swagger_ui, name="api-docs")])),
    # Paths an app serves under /api/ besides its router viewsets (e.g. auth, schema).
    path("api/", include(extra_urlpatterns)),
    path("api/", include(router.urls)),
]

# Each app's pages (web UI and public pages) live in `<app>/urls.py`, mounted at the root.
urlpatterns += [path("", include(f"{app}.urls")) for app in LOCAL_APPS if module_exists(f"{app}.urls")]
urlpatterns.append(path("", include("config.web_urls")))

# Error pages in the workspace's shell with the reason; JSON under /api/ (workspace/views/errors.py).
handler403 = "workspace.views.errors.permission_denied"
handler404 = "workspace.views.errors.page_not_found"
