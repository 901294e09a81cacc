from django.contrib import admin
from django.urls import include, path

from .api_router import extra_urlpatterns, router
from .app_modules import LOCAL_APPS, module_exists

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    # Paths an app serves under /api/ besides its router viewsets (e.g. auth, schema).
    path("api/", include(extra_urlpatterns)),
    path("api/", include(router.urls)),
]

# Each app's pages (web UI and public pages) live in `<app>/urls.py`, mounted at the root.
urlpatterns += [path("", include(f"{app}.urls")) for app in LOCAL_APPS if module_exists(f"{app}.urls")]
urlpatterns.append(path("", include("config.web_urls")))
