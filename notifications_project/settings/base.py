"""The Django core: debug and secret key, hosts, apps and middleware, the database, static files, request
limits."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from notifications_project.env import env_bool, env_float, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("NOTIFICATIONS_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
PORT = env_int("PORT", 8000)

_secret_key = env_secret("SECRET_KEY")
if _secret_key is None:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off. Set SECRET_KEY (or SECRET_KEY_FILE), "
            "or set DEBUG=true for local development."
        )
    _secret_key = "insecure-development-key-do-not-use-in-production"
SECRET_KEY = _secret_key

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # First, so its admin templates (the pagination) override django.contrib.admin's.
    "core",
    # The admin; its default site is OpsAdminSite (NIN masking; dispatch puts its dashboard on the index).
    "core.admin_site.OpsAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "templates",
    "orders",
    "dispatch",
    # Admin login throttling: failed logins counted per username and client address in PostgreSQL.
    "axes",
]

MIDDLEWARE = [
    "core.middleware.RequestLogMiddleware",
    "core.throttling.RateLimitHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads the Host header: probes by an instance's own address get their answer.
    "core.health.HealthMiddleware",
    # The admin's CSS and JS from STATIC_ROOT (filled by collectstatic): the web server serves no files.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: answers 429 to a locked-out admin login.
    "axes.middleware.AxesMiddleware",
]

# django-axes checks every login against its lockouts first; then the usual username and password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "notifications_project.urls"
WSGI_APPLICATION = "notifications_project.wsgi.application"

# No project-level template DIRS: the top-level `templates/` folder is the notification-template app.
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/notifications")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60), conn_health_checks=True
    )
}
DATABASES["default"].setdefault("OPTIONS", {})
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, skipping the per-request health check of a connection that just worked.
    DATABASES["default"]["ENGINE"] = "core.postgresql"
# Read by core.postgresql: no health check of a connection seen working this many seconds ago.
DATABASES["default"]["HEALTH_CHECK_AFTER"] = env_float(  # type: ignore[typeddict-unknown-key]
    "DATABASE_HEALTH_CHECK_AFTER", 5.0
)
# Fail fast instead of hanging when PostgreSQL is unreachable, so the API can answer 503.
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 3))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

# Requests larger than this are refused with 413 before they are parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("NOTIFICATIONS_MAX_REQUEST_BYTES", 10 * 1024 * 1024)
# The web server (see asgi.py and request_body.py): a request body must arrive whole within this many
# seconds (408 otherwise), and each web worker lets Django process this many requests at once (the
# rest wait, costing no thread and no database connection).
WEB_BODY_TIMEOUT_SECONDS = env_float("WEB_BODY_TIMEOUT_SECONDS", 30.0)
WEB_CONCURRENT_REQUESTS = env_int("WEB_CONCURRENT_REQUESTS", 16)
# Delivery-report webhooks take far less: a larger body is refused with 413 before it is read.
NOTIFICATIONS_WEBHOOK_MAX_BYTES = env_int("NOTIFICATIONS_WEBHOOK_MAX_BYTES", 1024 * 1024)
