"""Settings for the `api` benchmark: the app on the shared data set, users and tokens elsewhere.

The shared data sets must stay exactly as found, so the benchmark's user, its
group membership and its token live in a scratch database of their own
(BENCH_AUTH_DATABASE_URL); this router sends the auth tables there and every
CRM table to the data set (DATABASE_URL).
"""

from config.settings import *  # noqa: F403
from config.settings import DATABASES, env

AUTH_APPS = {"auth", "authtoken", "contenttypes", "sessions", "admin"}

DATABASES["auth"] = env.db("BENCH_AUTH_DATABASE_URL")
DATABASES["auth"].setdefault("CONN_MAX_AGE", 60)
DATABASE_ROUTERS = ["bench._api_settings.AuthRouter"]


class AuthRouter:
    def db_for_read(self, model, **hints):
        return "auth" if model._meta.app_label in AUTH_APPS else "default"

    db_for_write = db_for_read

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, **hints):
        return False  # the benchmark never migrates through these settings
