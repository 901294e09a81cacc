from django.contrib import admin
from django.urls import include, path

from workspace.views.auth import LimitedAdminAuthenticationForm, LimitedLoginView

from .api_router import extra_urlpatterns, router
from .app_modules import LOCAL_APPS, module_exists

# Both logins refuse a username locked by too many failed attempts (crm_core.login_limits).
admin.site.login_form = LimitedAdminAuthenticationForm

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", LimitedLoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    # Paths an app serves under /api/ besides its router viewsets (e.g. auth, schema).
    path("api/", include(extra_urlpatterns)),
    path("api/", include(router.urls)),
]

# Each app's pages (web UI and public pages) live in `<app>/urls.py`, mounted at the root.
urlpatterns += [path("", include(f"{app}.urls")) for app in LOCAL_APPS if module_exists(f"{app}.urls")]
urlpatterns.append(path("", include("config.web_urls")))

handler404 = "crm_core.api.exceptions.not_found"
