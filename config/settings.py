"""Nurture settings: one module, driven by environment variables.

Every variable is listed in `.env.example` and in the README. With none set the
app runs on the embedded default: a SQLite file and a Celery transport on the
local filesystem, so web, worker and beat need no server.
"""

import os
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

# --- The embedded default: development secret key -------------------------------------------
# With no DATABASE_URL (or a SQLite one) the app is the embedded development default. There a
# missing SECRET_KEY is generated once and kept in var/secret_key, so `python manage.py <command>`
# works without `make` and sessions survive restarts. Elsewhere SECRET_KEY is required unless DEBUG.
EMBEDDED_DEFAULT = not env("DATABASE_URL", default="") or env("DATABASE_URL").startswith("sqlite:")
SECRET_KEY_FILE = VAR_DIR / "secret_key"


def _development_secret_key() -> str:
    if not SECRET_KEY_FILE.exists():
        import secrets

        SECRET_KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(SECRET_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as key_file:
            key_file.write(secrets.token_urlsafe(50))
    return SECRET_KEY_FILE.read_text().strip()


SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    if EMBEDDED_DEFAULT:
        try:
            SECRET_KEY = _development_secret_key()
        except FileExistsError:  # another process wrote it a moment ago
            SECRET_KEY = SECRET_KEY_FILE.read_text().strip()
    elif DEBUG:
        SECRET_KEY = "insecure-development-key-only-used-when-DEBUG-is-on"  # noqa: S105
    else:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (and DATABASE_URL is set).")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "crm_core",
    "segments",
    "leadscoring",
    "landing",
    "journeys",
    "sales",
    "workspace",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Django's empty 405 (a GET on a POST-only action) becomes a page that says what happened.
    "workspace.middleware.ErrorPagesMiddleware",
]

# --- HTTP security: with DEBUG off the defaults pass `manage.py check --deploy` ---------------
# Behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER_ENABLED (X-Forwarded-Proto: https).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
if env.bool("SECURE_PROXY_SSL_HEADER_ENABLED", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = env("SECURE_REFERRER_POLICY", default="same-origin")
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# django-csp: only our own files run. The UI's scripts and styles are static files (no inline script,
# style attribute or event handler). The API docs page serves Swagger UI from the sidecar package, so
# it is our own files too; it alone allows inline styles (workspace/views/api_docs.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # One template location per app: <app>/templates/ (the shell's base.html is workspace's).
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "workspace.context_processors.navigation",
                "sales.context_processors.sales",
            ],
            # `number` on every page: numbers written one way (workspace/templatetags/formatting.py).
            "builtins": ["workspace.templatetags.formatting"],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'nurture.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one file: wait for locks instead of failing,
    # and let readers proceed while a writer works (WAL).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache and Celery -----------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default=""),
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# The filesystem transport: every folder it writes (queue, processed, control) under one directory,
# var/celery-broker/ unless CELERY_BROKER_DIR names another (the tests' subprocesses get their own,
# so a test run leaves nothing in the checkout for a developer's worker to pick up).
# "localhost" is a placeholder the transport ignores; without it kombu warns on each connection.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://localhost/")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = BASE_DIR / env("CELERY_BROKER_DIR", default="var/celery-broker")  # relative: to BASE_DIR
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# segments: how many "change to membership current" times (seconds) to keep in Redis (0: none).
SEGMENTS_FRESHNESS_SAMPLES = env.int("SEGMENTS_FRESHNESS_SAMPLES", default=0)
# Apps add their periodic tasks here (see docs/architecture.md).
CELERY_BEAT_SCHEDULE: dict = {
    # segments (segments/freshness.py): changes refresh the contacts they touch within seconds; the
    # pending run also runs on its own as a safety net, segments with relative-time windows are
    # evaluated in full when their windows moved, and every live segment in full now and then.
    "segments-refresh-live": {
        "task": "segments.refresh_live",
        "schedule": env.float("SEGMENTS_FULL_REFRESH_SECONDS", default=900.0),
    },
    "segments-refresh-pending": {"task": "segments.refresh_pending", "schedule": 30.0},
    "segments-refresh-relative": {"task": "segments.refresh_relative", "schedule": 300.0},
    "landing-retry-unfinished-submissions": {
        "task": "landing.submissions_retry_unfinished",
        "schedule": 300.0,
    },
    "leadscoring-decay": {"task": "leadscoring.decay", "schedule": 86400.0},  # leadscoring
    # sales: owners hear about tasks that went past due.
    "sales-tasks-overdue": {"task": "sales.notify_overdue_tasks", "schedule": 300.0},
    # crm_core: fold the dashboard's per-day record counts (exact without it; fewer rows to sum).
    "crm-core-compact-record-counts": {
        "task": "crm_core.compact_record_counts",
        "schedule": env.float("RECORD_COUNTS_COMPACT_SECONDS", default=60.0),
    },
}
# crm_core: an uploaded import file goes when its run finishes; one never run goes with its job
# after this many days (crm_core.import_files_cleanup, hourly).
IMPORT_UPLOAD_KEEP_DAYS = env.int("IMPORT_UPLOAD_KEEP_DAYS", default=7)
CELERY_BEAT_SCHEDULE["crm-core-import-files-cleanup"] = {
    "task": "crm_core.import_files_cleanup",
    "schedule": 3600.0,
}
# crm_core: the duplicate detection job (crm_core.duplicates_scan) runs nightly at this UTC hour;
# "Scan now" on the duplicates page runs it on demand.
DUPLICATES_SCAN_HOUR = env.int("DUPLICATES_SCAN_HOUR", default=2)
CELERY_BEAT_SCHEDULE["crm-core-duplicates-scan"] = {
    "task": "crm_core.duplicates_scan",
    "schedule": crontab(hour=DUPLICATES_SCAN_HOUR, minute=17),
}
CELERY_BEAT_SCHEDULE["landing-spool-drain"] = {
    "task": "landing.spool_drain",
    "schedule": env.float("LANDING_SPOOL_DRAIN_SECONDS", default=30.0),
}
# journeys: the engine's tick and its knobs (journeys/engine/, README "Journeys").
JOURNEYS_TICK_SECONDS = env.float("JOURNEYS_TICK_SECONDS", default=10.0)
CELERY_BEAT_SCHEDULE["journeys-tick"] = {"task": "journeys.tick", "schedule": JOURNEYS_TICK_SECONDS}
JOURNEYS_BATCH_SIZE = env.int("JOURNEYS_BATCH_SIZE", default=1000)
JOURNEYS_DISPATCH_LEASE_SECONDS = env.int("JOURNEYS_DISPATCH_LEASE_SECONDS", default=600)
JOURNEYS_OUTBOX_SWEEP_SECONDS = env.int("JOURNEYS_OUTBOX_SWEEP_SECONDS", default=120)
JOURNEYS_CONDITION_RECHECK_SECONDS = env.int("JOURNEYS_CONDITION_RECHECK_SECONDS", default=300)
# true: every per-email "sent" mark waits for the WAL flush (see docs/architecture.md, Journeys).
JOURNEYS_DURABLE_SEND_MARKS = env.bool("JOURNEYS_DURABLE_SEND_MARKS", default=False)
# "sent" marks a sender may have on their way to PostgreSQL before it waits for their results.
JOURNEYS_SEND_MARKS_IN_FLIGHT = env.int("JOURNEYS_SEND_MARKS_IN_FLIGHT", default=200)

# --- Auth -----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Proxies in front of the app that append to X-Forwarded-For (0: the header is ignored and the
# client is REMOTE_ADDR). Throttles, rate limits and recorded addresses use crm_core.net.client_address.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=env.int("LANDING_NUM_PROXIES", default=0))
# Failed logins per username (web, admin, API token) before it is locked until the window ends.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=900)
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# --- REST API ---------------------------------------------------------------------
# Largest request body the app accepts (bytes); larger bodies get 413 (API parsers and Django forms).
MAX_REQUEST_BODY_BYTES = env.int("MAX_REQUEST_BODY_BYTES", default=10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES

# API tokens stop working this long after they were issued (POST /api/auth/token/ issues a new one).
API_TOKEN_TTL_SECONDS = env.int("API_TOKEN_TTL_SECONDS", default=30 * 86400)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "crm_core.api.tokens.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "crm_core.api.parsers.JSONParser",
        "crm_core.api.parsers.FormParser",
        "crm_core.api.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "crm_core.api.exceptions.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "crm_core.api.pagination.StandardPagination",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Rates are read on every request (crm_core/api/throttling.py), so changing them here is enough.
    "DEFAULT_THROTTLE_CLASSES": [
        "crm_core.api.throttling.AnonRateThrottle",
        "crm_core.api.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("API_THROTTLE_ANON", default="60/minute"),
        "user": env("API_THROTTLE_USER", default="100000/hour"),
        # Test copies of an email template (the email editor's "Send test"), per user.
        "email_test_send": env("API_THROTTLE_EMAIL_TEST_SEND", default="10/hour"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Nurture API",
    "DESCRIPTION": (
        "Contacts, accounts, leads, segments, scoring, journeys and landing pages. "
        "Authenticate with `Authorization: Token <token>` (POST /api/auth/token/) or a browser session. "
        f"Request bodies are limited to {MAX_REQUEST_BODY_BYTES} bytes (413 above that)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the drf-spectacular-sidecar package, served as our static files (no CDN).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Like every other endpoint, the schema and its docs are for signed-in users only.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "crm_core.api.schema_errors.error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ConsentLevelEnum": "crm_core.models.ConsentLevel",
        "CustomFieldEntityEnum": "crm_core.models.CustomFieldEntity",
        "ImportEntityEnum": "crm_core.models.ImportEntity",
        "InteractionKindEnum": "crm_core.models.InteractionKind",
        "SegmentStatusEnum": "segments.models.SegmentStatus",
        "SegmentKindEnum": "segments.models.SegmentKind",
        "JourneyStatusEnum": "journeys.models.JourneyStatus",
        "EmailKindEnum": "journeys.models.EmailKind",
        "PageStatusEnum": "landing.models.PageStatus",
        "SubmissionStatusEnum": "landing.models.SubmissionStatus",
        "LeadStatusEnum": "crm_core.models.LeadStatus",
        "TaskSourceEnum": "sales.models.TaskSource",
        "SourceEnum": "crm_core.models.LeadSource",  # the name it had before tasks had a source too
        "ActivityKindEnum": "sales.models.ActivityKind",
        "CallOutcomeEnum": "sales.models.CallOutcome",
        "OpportunityStatusEnum": "crm_core.models.OpportunityStatus",
        "SubscriptionStatusEnum": "crm_core.models.SubscriptionStatus",
    },
}

# --- Landing pages, consent tokens ---------------------------------------------------
# Submissions one client address may send to the public forms (N/second|minute|hour|day).
LANDING_RATE_LIMIT = env("LANDING_RATE_LIMIT", default="20/minute")
# Largest form submission accepted (bytes); larger gets 413.
LANDING_MAX_BODY_BYTES = env.int("LANDING_MAX_BODY_BYTES", default=64 * 1024)
LANDING_FORM_TOKEN_MAX_AGE = env.int("LANDING_FORM_TOKEN_MAX_AGE", default=7 * 86400)
LANDING_LOCK_TIMEOUT_MS = env.int("LANDING_LOCK_TIMEOUT_MS", default=5000)
LANDING_RETRY_DELAY_SECONDS = env.int("LANDING_RETRY_DELAY_SECONDS", default=10)
LANDING_SWEEP_AFTER_SECONDS = env.int("LANDING_SWEEP_AFTER_SECONDS", default=600)
# A post the database cannot take is retried for this long, then kept in the spool directory and
# stored when the database answers (landing/spool.py); drained by the web process and the beat task.
LANDING_STORE_RETRY_SECONDS = env.float("LANDING_STORE_RETRY_SECONDS", default=2.0)
LANDING_SPOOL_DIR = env("LANDING_SPOOL_DIR", default=str(VAR_DIR / "spool" / "landing"))
# Tries before a submission whose processing keeps failing is marked failed (and no longer retried).
LANDING_MAX_ATTEMPTS = env.int("LANDING_MAX_ATTEMPTS", default=5)
# Sites that may show a landing page's embeddable form (/l/<slug>/embed/) in an iframe: CSP
# frame-ancestors sources, comma-separated ("*": any site). Every other page refuses framing.
LANDING_EMBED_FRAME_ANCESTORS = env.list("LANDING_EMBED_FRAME_ANCESTORS", default=["*"])
# --- Scoring signals (crm_core/signal_quality.py) ---------------------------------------
# Repeated opens/clicks of one message, and submissions of one form page, count once per window.
SCORING_REPEAT_WINDOW_SECONDS = env.int("SCORING_REPEAT_WINDOW_SECONDS", default=86400)
# The cap a new interaction rule gets when none is given (an explicit null means no cap).
SCORING_DEFAULT_RULE_CAP = env.int("SCORING_DEFAULT_RULE_CAP", default=10)
# Clicks this soon after delivery are a scanner's, not a person's: recorded, never scored.
TRACKING_MACHINE_CLICK_SECONDS = env.int("TRACKING_MACHINE_CLICK_SECONDS", default=10)
TRACKING_SCANNER_AGENTS = env.list(
    "TRACKING_SCANNER_AGENTS",
    default=[
        "Barracuda",
        "Mimecast",
        "Proofpoint",
        "Safelinks",
        "MS Search",
        "Microsoft Office Protocol",
        "Symantec",
        "Trend Micro",
        "bitdefender",
        "python-requests",
        "curl/",
        "Go-http-client",
        "HeadlessChrome",
        "bot",
        "spider",
        "crawler",
        "preview",
        "scanner",
    ],
)
# Opens and clicks recorded per message (N/second|minute|hour|day); beyond it they are served, not recorded.
TRACKING_RATE_LIMIT = env("TRACKING_RATE_LIMIT", default="20/minute")
# Lifetime of signed contact links (subscription center, prefill), in seconds.
CONTACT_TOKEN_MAX_AGE = env.int("CONTACT_TOKEN_MAX_AGE", default=90 * 86400)

# --- Email ------------------------------------------------------------------------
# --- Email on the development default: one file per message under var/mail/, one log line each ---
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    default="config.mail.DevFileEmailBackend"
    if DEBUG or EMBEDDED_DEFAULT
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Nurture <noreply@nurture.invalid>")

# --- I18N, static -------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
# Dates, times and number separators written one way across the app (config/formats/en/formats.py).
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Front-end packages come from the npm registry (package.json, `npm ci` into node_modules/);
# only their built files are served, under static/vendor/<package>/.
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    ("vendor/pico", NODE_MODULES / "@picocss" / "pico" / "css"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/chartjs", NODE_MODULES / "chart.js" / "dist"),
    ("vendor/tom-select", NODE_MODULES / "tom-select" / "dist"),
    ("vendor/grapesjs", NODE_MODULES / "grapesjs" / "dist"),
    ("vendor/grapesjs-mjml", NODE_MODULES / "grapesjs-mjml" / "dist"),
    # The editor's panel icons (GrapesJS names Font Awesome 4 classes).
    ("vendor/font-awesome/css", NODE_MODULES / "font-awesome" / "css"),
    ("vendor/font-awesome/fonts", NODE_MODULES / "font-awesome" / "fonts"),
]
# Uploaded files (imports: the files people upload and the reports of their runs).
MEDIA_ROOT = env("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
