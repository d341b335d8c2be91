"""Settings of the notification service, read from the environment.

Every variable is documented in the README's configuration table. Production differences are
environment toggles, not a separate module; secrets are required when DEBUG is off.
"""

from __future__ import annotations

import ipaddress
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("NOTIFICATIONS_VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_secret(name: str) -> str | None:
    """Read a secret from NAME, or from the file named by NAME_FILE (for container secrets)."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        return Path(file_name).read_text().strip()
    return os.environ.get(name) or None


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
    # First, so its admin templates (the dashboard on the admin index) override django.contrib.admin's.
    "core",
    # The admin with the operations dashboard as its index (the default site is OpsAdminSite).
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

# --- Security (the defaults are the production ones; DEBUG relaxes them for local use) ---
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers probe health over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^health$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# An admin session lasts a working day, not Django's two weeks.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
if SESSION_COOKIE_SECURE and CSRF_COOKIE_SECURE:
    # "__Host-": the browser keeps these cookies only when Secure, for this host alone and path "/", so
    # neither a sibling subdomain nor plain HTTP can set or overwrite them.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Admin login throttling (django-axes): after this many failed logins for one username from one client
# address, that pair is locked out (429) for the cool-off time; a success resets the count. Counted per
# pair so that nobody can lock a colleague out from elsewhere, and behind a proxy all staff do not share
# one lockout. Stored in PostgreSQL, so a Redis outage does not lift it.
# The client address is taken through core.client_address: behind a reverse proxy, from
# the header the proxy sets, but only when the direct peer is one of the trusted proxies (CIDRs); a client
# that reaches the service directly cannot choose its address with a forged header.
NOTIFICATIONS_TRUSTED_PROXY_HEADER = env_str("NOTIFICATIONS_TRUSTED_PROXY_HEADER", "")
NOTIFICATIONS_TRUSTED_PROXIES = env_list("NOTIFICATIONS_TRUSTED_PROXIES", [])
for _cidr in NOTIFICATIONS_TRUSTED_PROXIES:  # a typo must stop startup, not every admin login
    try:
        ipaddress.ip_network(_cidr, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"NOTIFICATIONS_TRUSTED_PROXIES: {_exc}") from _exc
AXES_CLIENT_IP_CALLABLE = "core.client_address.client_address"
AXES_FAILURE_LIMIT = env_int("NOTIFICATIONS_ADMIN_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("NOTIFICATIONS_ADMIN_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Failed attempts are kept (for the lockout and for review in the admin); successful logins are not.
AXES_DISABLE_ACCESS_LOG = True
AXES_HTTP_RESPONSE_CODE = 429

# --- Celery (Redis is only the broker; PostgreSQL holds the truth) ---
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing must not hang a web request when Redis is down: the beat sweeps are the safety net.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": 1,
    "socket_timeout": 2,
    "max_retries": 0,
}
CELERY_TASK_PUBLISH_RETRY = False
# Sending has a queue of its own: a worker started with `-Q celery` processes orders (and the sweeps)
# and one with `-Q sending` sends, so an immediate order is never queued behind minutes of bulk sending.
# A worker started without -Q consumes both (the embedded default).
CELERY_TASK_QUEUES = [Queue("celery", routing_key="celery"), Queue("sending", routing_key="sending")]
CELERY_TASK_ROUTES = {"dispatch.notifications_send": {"queue": "sending"}}
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}
NOTIFICATIONS_SWEEP_INTERVAL = timedelta(seconds=env_float("NOTIFICATIONS_SWEEP_INTERVAL_SECONDS", 5.0))

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env_str("CACHE_URL", CELERY_BROKER_URL),
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}

# --- API ---
NOTIFICATIONS_BASE_URI = env_str("NOTIFICATIONS_BASE_URI", f"http://localhost:{PORT}").rstrip("/")
# The identity provider's keys: bearer tokens are verified against these only.
NOTIFICATIONS_JWKS_FILE = env_str("NOTIFICATIONS_JWKS_FILE", str(VAR_DIR / "keys" / "jwks.json"))
# When set, a bearer token's `iss` must be one of these and its `aud` must include the audience; a key set
# shared by several issuers or services then cannot lend their tokens to this one. Empty: not checked.
NOTIFICATIONS_JWT_ISSUERS = env_list("NOTIFICATIONS_JWT_ISSUERS", [])
NOTIFICATIONS_JWT_AUDIENCE = env_str("NOTIFICATIONS_JWT_AUDIENCE", "")
# The platform's keys: platform access tokens are verified against these only. Empty (the default outside
# `make run`): platform access tokens are refused.
NOTIFICATIONS_PLATFORM_JWKS_FILE = env_str("NOTIFICATIONS_PLATFORM_JWKS_FILE", "")
# Application owners (orgs) whose platform access tokens are accepted; their `iss` becomes the creator.
NOTIFICATIONS_PLATFORM_TRUSTED_ISSUERS = env_list("NOTIFICATIONS_PLATFORM_TRUSTED_ISSUERS", [])
# Used only by `manage.py issue_token` to mint development tokens; never needed in production.
NOTIFICATIONS_JWT_SIGNING_KEY_FILE = env_str(
    "NOTIFICATIONS_JWT_SIGNING_KEY_FILE", str(VAR_DIR / "keys" / "dev-signing-key.pem")
)
NOTIFICATIONS_PLATFORM_SIGNING_KEY_FILE = env_str(
    "NOTIFICATIONS_PLATFORM_SIGNING_KEY_FILE", str(VAR_DIR / "keys" / "platform-dev-signing-key.pem")
)
NOTIFICATIONS_CREATE_SCOPE = "altinn:serviceowner/notifications.create"
NOTIFICATIONS_DEFAULT_EMAIL_FROM = env_str("NOTIFICATIONS_DEFAULT_EMAIL_FROM", "noreply@altinn.cloud")
NOTIFICATIONS_DEFAULT_SMS_SENDER = env_str("NOTIFICATIONS_DEFAULT_SMS_SENDER", "Altinn")
# Order limits the reference lacks: a request beyond them is a 400 at registration, not a failure later.
NOTIFICATIONS_MAX_RECIPIENTS_PER_ORDER = env_int("NOTIFICATIONS_MAX_RECIPIENTS_PER_ORDER", 100_000)
NOTIFICATIONS_MAX_SMS_BODY_CHARS = env_int("NOTIFICATIONS_MAX_SMS_BODY_CHARS", 1600)
NOTIFICATIONS_MAX_EMAIL_BODY_CHARS = env_int("NOTIFICATIONS_MAX_EMAIL_BODY_CHARS", 256 * 1024)
NOTIFICATIONS_MAX_EMAIL_SUBJECT_CHARS = env_int("NOTIFICATIONS_MAX_EMAIL_SUBJECT_CHARS", 998)
NOTIFICATIONS_MAX_SENDERS_REFERENCE_CHARS = env_int("NOTIFICATIONS_MAX_SENDERS_REFERENCE_CHARS", 500)
# No order is due further ahead than this (a send time, or a reminder's delay added to it), so date
# arithmetic on send times (reminders, expiry) stays far inside what a datetime can hold.
NOTIFICATIONS_MAX_SEND_AHEAD_DAYS = env_int("NOTIFICATIONS_MAX_SEND_AHEAD_DAYS", 3650)
if not 1 <= NOTIFICATIONS_MAX_SEND_AHEAD_DAYS <= 36_500:
    raise ImproperlyConfigured("NOTIFICATIONS_MAX_SEND_AHEAD_DAYS must be between 1 and 36500.")
# Reminders per order chain: each is an order of its own, registered in the request's transaction.
NOTIFICATIONS_MAX_REMINDERS = env_int("NOTIFICATIONS_MAX_REMINDERS", 20)

# Requests per creator and minute over the API (0 turns the limit off); 429 with Retry-After beyond it.
NOTIFICATIONS_RATE_LIMIT_PER_MINUTE = env_int("NOTIFICATIONS_RATE_LIMIT_PER_MINUTE", 6000)

# How long an Idempotency-Key is remembered (a replay within it returns the original response).
NOTIFICATIONS_IDEMPOTENCY_RETENTION_HOURS = env_int("NOTIFICATIONS_IDEMPOTENCY_RETENTION_HOURS", 24)

# --- The newer ("future") API: order chains, instant orders, shipments and the status feed ---
# Status feed entries are deleted this many days after they were written (the reference keeps 90).
NOTIFICATIONS_STATUS_FEED_RETENTION_DAYS = env_int("NOTIFICATIONS_STATUS_FEED_RETENTION_DAYS", 90)

# --- Outbound requests to caller-supplied URLs (condition endpoints, callbacks) and the HTTP registry ---
# Internal ranges (loopback, link-local, private) are refused unless listed here as CIDRs.
NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS = env_list("NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS", [])
NOTIFICATIONS_OUTBOUND_TIMEOUT_SECONDS = env_float("NOTIFICATIONS_OUTBOUND_TIMEOUT_SECONDS", 5.0)
NOTIFICATIONS_OUTBOUND_MAX_RESPONSE_BYTES = env_int("NOTIFICATIONS_OUTBOUND_MAX_RESPONSE_BYTES", 64 * 1024)

# --- Admin ---
# How long the admin dashboard's numbers are reused (0 computes them on every view of the admin index).
NOTIFICATIONS_DASHBOARD_CACHE_SECONDS = env_int("NOTIFICATIONS_DASHBOARD_CACHE_SECONDS", 30)

# --- Personal data ---
# Days an order stays whole after it became final; then its texts, addresses, identifiers and the
# providers' raw answers are purged and only statuses, counts and times remain (0 keeps everything).
NOTIFICATIONS_RETENTION_DAYS = env_int("NOTIFICATIONS_RETENTION_DAYS", 90)

# --- Contact registry ---
NOTIFICATIONS_REGISTRY_BACKEND = env_str("NOTIFICATIONS_REGISTRY_BACKEND", "database")  # or "http"
NOTIFICATIONS_REGISTRY_URL = env_str("NOTIFICATIONS_REGISTRY_URL", "")
NOTIFICATIONS_REGISTRY_TIMEOUT_SECONDS = env_float("NOTIFICATIONS_REGISTRY_TIMEOUT_SECONDS", 5.0)
# The register's answers are capped too, higher than other outbound answers: one lookup names up to
# NOTIFICATIONS_PROCESSING_CHUNK_SIZE identifiers. Its address must pass the outbound guard (allow an
# internal register's network in NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS).
NOTIFICATIONS_REGISTRY_MAX_RESPONSE_BYTES = env_int(
    "NOTIFICATIONS_REGISTRY_MAX_RESPONSE_BYTES", 32 * 1024 * 1024
)
# Sent as "Authorization: Bearer <token>" to the HTTP registry when set
# (or read from NOTIFICATIONS_REGISTRY_TOKEN_FILE).
NOTIFICATIONS_REGISTRY_TOKEN = env_secret("NOTIFICATIONS_REGISTRY_TOKEN")

# --- SMS send window (for sendingTimePolicy Daytime) ---
# "HH:MM-HH:MM" in NOTIFICATIONS_SMS_TIME_ZONE, or "anytime" to lift the window.
NOTIFICATIONS_SMS_SEND_WINDOW = env_str("NOTIFICATIONS_SMS_SEND_WINDOW", "09:00-17:00")
NOTIFICATIONS_SMS_TIME_ZONE = env_str("NOTIFICATIONS_SMS_TIME_ZONE", "Europe/Oslo")

# --- Order processing (see the README's "Processing") ---
# A failed condition endpoint check is repeated after this delay; after MAX_CHECKS failed checks the
# order is sent anyway (the reference service checks twice, 60 s apart).
NOTIFICATIONS_CONDITION_RETRY_DELAY = timedelta(
    seconds=env_float("NOTIFICATIONS_CONDITION_RETRY_DELAY_SECONDS", 60.0)
)
NOTIFICATIONS_CONDITION_MAX_CHECKS = env_int("NOTIFICATIONS_CONDITION_MAX_CHECKS", 2)
# A registry outage retries the order after this delay, doubling per attempt up to the maximum.
NOTIFICATIONS_REGISTRY_RETRY_DELAY = timedelta(
    seconds=env_float("NOTIFICATIONS_REGISTRY_RETRY_DELAY_SECONDS", 30.0)
)
NOTIFICATIONS_REGISTRY_RETRY_MAX_DELAY = timedelta(
    seconds=env_float("NOTIFICATIONS_REGISTRY_RETRY_MAX_DELAY_SECONDS", 900.0)
)
# How long a claimed order is held before another worker may take it over (renewed while working).
NOTIFICATIONS_PROCESSING_LEASE = timedelta(seconds=env_float("NOTIFICATIONS_PROCESSING_LEASE_SECONDS", 300.0))
# Recipients read, looked up and generated per step; bounds a worker's memory per order.
NOTIFICATIONS_PROCESSING_CHUNK_SIZE = env_int("NOTIFICATIONS_PROCESSING_CHUNK_SIZE", 5000)
# Notifications still pending this long after their expiry become Failed_TTL (time for sends in flight).
NOTIFICATIONS_EXPIRY_GRACE = timedelta(seconds=env_float("NOTIFICATIONS_EXPIRY_GRACE_SECONDS", 300.0))

# A sweep message older than one interval is superseded by the next one: let it expire unrun.
_sweep = {
    "schedule": NOTIFICATIONS_SWEEP_INTERVAL,
    "options": {"expires": NOTIFICATIONS_SWEEP_INTERVAL.total_seconds()},
}
CELERY_BEAT_SCHEDULE["orders-process-due"] = {"task": "dispatch.orders_process_due", **_sweep}
CELERY_BEAT_SCHEDULE["notifications-expire"] = {"task": "dispatch.notifications_expire", **_sweep}
CELERY_BEAT_SCHEDULE["orders-complete"] = {"task": "dispatch.orders_complete", **_sweep}
CELERY_BEAT_SCHEDULE["future-purge"] = {
    "task": "orders.future_purge",
    "schedule": timedelta(hours=1),
    "options": {"expires": 3600},
}

# --- Sending (see the README's "Sending") ---
# Provider per channel: email sandbox|smtp|anymail|<dotted Django email backend>; SMS sandbox|smpp|twilio.
# The sandbox (nothing leaves the machine) is the default when DEBUG is on; SMTP and SMPP otherwise.
NOTIFICATIONS_EMAIL_PROVIDER = env_str("NOTIFICATIONS_EMAIL_PROVIDER", "sandbox" if DEBUG else "smtp")
NOTIFICATIONS_SMS_PROVIDER = env_str("NOTIFICATIONS_SMS_PROVIDER", "sandbox" if DEBUG else "smpp")
NOTIFICATIONS_SEND_BATCH_SIZE = env_int("NOTIFICATIONS_SEND_BATCH_SIZE", 500)
# Attempts per notification before a transient failure becomes Failed; backoff doubles from BASE up to MAX.
NOTIFICATIONS_SEND_MAX_ATTEMPTS = env_int("NOTIFICATIONS_SEND_MAX_ATTEMPTS", 6)
NOTIFICATIONS_SEND_RETRY_BASE_SECONDS = env_float("NOTIFICATIONS_SEND_RETRY_BASE_SECONDS", 30.0)
NOTIFICATIONS_SEND_RETRY_MAX_SECONDS = env_float("NOTIFICATIONS_SEND_RETRY_MAX_SECONDS", 1800.0)
# A send task stops claiming after this long (beat starts the next); keep it well under STUCK_AFTER.
NOTIFICATIONS_SEND_TASK_SECONDS = env_float("NOTIFICATIONS_SEND_TASK_SECONDS", 240.0)
# A send claim's lease: the sending worker renews it every third of this while it works through the
# batch; once it has run out the worker is taken to be gone and its unsent notifications go back to New.
NOTIFICATIONS_SEND_LEASE_SECONDS = env_float("NOTIFICATIONS_SEND_LEASE_SECONDS", 60.0)
# Notifications in Sending longer than this go back to New whatever their lease says (a worker hung in a
# provider call while its heartbeat goes on, or a claim made before leases existed).
NOTIFICATIONS_SEND_STUCK_AFTER_SECONDS = env_float("NOTIFICATIONS_SEND_STUCK_AFTER_SECONDS", 900.0)
# A provider that cannot be reached is left alone this long (no retry budget is spent meanwhile).
NOTIFICATIONS_PROVIDER_OUTAGE_PAUSE_SECONDS = env_float("NOTIFICATIONS_PROVIDER_OUTAGE_PAUSE_SECONDS", 15.0)
# Pause after a 429 / throttling answer that names no reset time.
NOTIFICATIONS_PROVIDER_THROTTLE_SECONDS = env_float("NOTIFICATIONS_PROVIDER_THROTTLE_SECONDS", 60.0)
# Unmatched delivery reports are retried this many times, 5 s, 10 s, 20 s ... apart, then kept as dead.
NOTIFICATIONS_REPORT_MATCH_ATTEMPTS = env_int("NOTIFICATIONS_REPORT_MATCH_ATTEMPTS", 8)
NOTIFICATIONS_REPORT_RETRY_BASE_SECONDS = env_float("NOTIFICATIONS_REPORT_RETRY_BASE_SECONDS", 5.0)
NOTIFICATIONS_SANDBOX_REPORT_DELAY_SECONDS = env_float("NOTIFICATIONS_SANDBOX_REPORT_DELAY_SECONDS", 2.0)
# Email over SMTP uses Django's settings: EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD,
# EMAIL_USE_TLS, EMAIL_USE_SSL, EMAIL_TIMEOUT.
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
# Email through an ESP with django-anymail: the ESP's backend module name ("postmark", "sendgrid",
# "amazon_ses", "mailgun", ...); every ANYMAIL_<NAME> variable (or ANYMAIL_<NAME>_FILE) becomes
# ANYMAIL["<NAME>"], e.g. ANYMAIL_POSTMARK_SERVER_TOKEN and ANYMAIL_WEBHOOK_SECRET ("user:password").
NOTIFICATIONS_ANYMAIL_ESP = env_str("NOTIFICATIONS_ANYMAIL_ESP", "")
ANYMAIL: dict[str, Any] = {
    name.removeprefix("ANYMAIL_").removesuffix("_FILE"): env_secret(name.removesuffix("_FILE"))
    for name in os.environ
    if name.startswith("ANYMAIL_")
}
# SMS over SMPP 3.4. Workers bind as NOTIFICATIONS_SMPP_BIND (transmitter or transceiver); delivery
# receipts are read by `manage.py run_smpp_receiver` (bind NOTIFICATIONS_SMPP_RECEIVER_BIND).
NOTIFICATIONS_SMPP_HOST = env_str("NOTIFICATIONS_SMPP_HOST", "")
NOTIFICATIONS_SMPP_PORT = env_int("NOTIFICATIONS_SMPP_PORT", 2775)
NOTIFICATIONS_SMPP_SYSTEM_ID = env_str("NOTIFICATIONS_SMPP_SYSTEM_ID", "")
NOTIFICATIONS_SMPP_PASSWORD = env_secret("NOTIFICATIONS_SMPP_PASSWORD") or ""
NOTIFICATIONS_SMPP_SYSTEM_TYPE = env_str("NOTIFICATIONS_SMPP_SYSTEM_TYPE", "")
NOTIFICATIONS_SMPP_USE_TLS = env_bool("NOTIFICATIONS_SMPP_USE_TLS", False)
NOTIFICATIONS_SMPP_BIND = env_str("NOTIFICATIONS_SMPP_BIND", "transmitter")
NOTIFICATIONS_SMPP_RECEIVER_BIND = env_str("NOTIFICATIONS_SMPP_RECEIVER_BIND", "receiver")
NOTIFICATIONS_SMPP_WINDOW = env_int("NOTIFICATIONS_SMPP_WINDOW", 10)
NOTIFICATIONS_SMPP_TIMEOUT_SECONDS = env_float("NOTIFICATIONS_SMPP_TIMEOUT_SECONDS", 10.0)
NOTIFICATIONS_SMPP_ENQUIRE_LINK_SECONDS = env_float("NOTIFICATIONS_SMPP_ENQUIRE_LINK_SECONDS", 30.0)
NOTIFICATIONS_SMPP_VALIDITY_HOURS = env_int("NOTIFICATIONS_SMPP_VALIDITY_HOURS", 48)
# SMS over Twilio's Messages API; status callbacks come to NOTIFICATIONS_TWILIO_CALLBACK_BASE_URI + the
# webhook path (the public URL Twilio signs, so it must match what Twilio calls).
NOTIFICATIONS_TWILIO_ACCOUNT_SID = env_str("NOTIFICATIONS_TWILIO_ACCOUNT_SID", "")
NOTIFICATIONS_TWILIO_AUTH_TOKEN = env_secret("NOTIFICATIONS_TWILIO_AUTH_TOKEN") or ""
NOTIFICATIONS_TWILIO_MESSAGING_SERVICE_SID = env_str("NOTIFICATIONS_TWILIO_MESSAGING_SERVICE_SID", "")
NOTIFICATIONS_TWILIO_API_BASE = env_str("NOTIFICATIONS_TWILIO_API_BASE", "https://api.twilio.com")
NOTIFICATIONS_TWILIO_CALLBACK_BASE_URI = env_str("NOTIFICATIONS_TWILIO_CALLBACK_BASE_URI", "")
NOTIFICATIONS_TWILIO_TIMEOUT_SECONDS = env_float("NOTIFICATIONS_TWILIO_TIMEOUT_SECONDS", 10.0)

# The send sweep also picks up retries whose backoff has passed and anything a lost message left New.
CELERY_BEAT_SCHEDULE["notifications-send"] = {"task": "dispatch.notifications_send", **_sweep}
# Often, so a dead worker's notifications wait little past its lease (a small index scan when none are).
CELERY_BEAT_SCHEDULE["notifications-release-stuck"] = {
    "task": "dispatch.notifications_release_stuck",
    "schedule": timedelta(seconds=15),
    "options": {"expires": 15},
}
CELERY_BEAT_SCHEDULE["delivery-reports-retry"] = {"task": "dispatch.delivery_reports_retry", **_sweep}
CELERY_BEAT_SCHEDULE["sandbox-reports-deliver"] = {"task": "dispatch.sandbox_reports_deliver", **_sweep}
# Housekeeping: expired Idempotency-Keys, and the content of orders past NOTIFICATIONS_RETENTION_DAYS.
CELERY_BEAT_SCHEDULE["idempotency-keys-purge"] = {
    "task": "dispatch.idempotency_keys_purge",
    "schedule": timedelta(hours=1),
    "options": {"expires": 3600},
}
CELERY_BEAT_SCHEDULE["notification-content-purge"] = {
    "task": "dispatch.notification_content_purge",
    "schedule": timedelta(hours=1),
    "options": {"expires": 3600},
}

# --- Status callbacks (see the README's "Status callbacks") ---
# statusCallbackUrl must be an absolute https URL; http is accepted too when this is on (default: DEBUG).
NOTIFICATIONS_CALLBACK_ALLOW_HTTP = env_bool("NOTIFICATIONS_CALLBACK_ALLOW_HTTP", DEBUG)
# A callback is retried, backing off from BASE and doubling up to MAX, until MAX_AGE after its event.
NOTIFICATIONS_CALLBACK_MAX_AGE_SECONDS = env_float("NOTIFICATIONS_CALLBACK_MAX_AGE_SECONDS", 24 * 3600.0)
NOTIFICATIONS_CALLBACK_RETRY_BASE_SECONDS = env_float("NOTIFICATIONS_CALLBACK_RETRY_BASE_SECONDS", 10.0)
NOTIFICATIONS_CALLBACK_RETRY_MAX_SECONDS = env_float("NOTIFICATIONS_CALLBACK_RETRY_MAX_SECONDS", 3600.0)
NOTIFICATIONS_CALLBACK_TIMEOUT_SECONDS = env_float("NOTIFICATIONS_CALLBACK_TIMEOUT_SECONDS", 10.0)
# Callbacks claimed per batch, and POSTed at a time within a batch.
NOTIFICATIONS_CALLBACK_BATCH_SIZE = env_int("NOTIFICATIONS_CALLBACK_BATCH_SIZE", 100)
NOTIFICATIONS_CALLBACK_CONCURRENCY = env_int("NOTIFICATIONS_CALLBACK_CONCURRENCY", 8)
# After a rotation the previous secret co-signs this long, so receivers can switch without a gap.
NOTIFICATIONS_CALLBACK_SECRET_GRACE_HOURS = env_float("NOTIFICATIONS_CALLBACK_SECRET_GRACE_HOURS", 24.0)
CELERY_BEAT_SCHEDULE["callbacks-deliver"] = {"task": "dispatch.callbacks_deliver", **_sweep}
# Delivered and given-up callbacks (their bodies hold addresses) are deleted after this many days (0: kept).
NOTIFICATIONS_CALLBACK_RETENTION_DAYS = env_int("NOTIFICATIONS_CALLBACK_RETENTION_DAYS", 30)
CELERY_BEAT_SCHEDULE["callbacks-purge"] = {
    "task": "dispatch.callbacks_purge",
    "schedule": timedelta(hours=1),
    "options": {"expires": 3600},
}


def _sms_providers(value: str) -> list[tuple[str, int]]:
    """ "smpp:3,twilio:1" → [("smpp", 3), ("twilio", 1)]; a name without a weight weighs 1."""
    providers = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        name, _, weight = item.partition(":")
        if not weight.strip().isdigit():
            if weight:
                raise ImproperlyConfigured(f"NOTIFICATIONS_SMS_PROVIDERS: bad weight in {item!r}")
            weight = "1"
        providers.append((name.strip(), int(weight)))
    return providers


# --- SMS failover (see the README's "SMS failover") ---
# Several SMS providers with weights ("smpp:3,twilio:1"); empty means NOTIFICATIONS_SMS_PROVIDER alone.
NOTIFICATIONS_SMS_PROVIDERS = _sms_providers(env_str("NOTIFICATIONS_SMS_PROVIDERS", ""))
# A provider loses its share when, over the last WINDOW seconds with at least MIN_ATTEMPTS attempts, the
# share of failed attempts reaches ERROR_RATE or the 90th percentile of its answer time reaches LATENCY_MS.
NOTIFICATIONS_SMS_FAILOVER_WINDOW_SECONDS = env_float("NOTIFICATIONS_SMS_FAILOVER_WINDOW_SECONDS", 60.0)
NOTIFICATIONS_SMS_FAILOVER_MIN_ATTEMPTS = env_int("NOTIFICATIONS_SMS_FAILOVER_MIN_ATTEMPTS", 20)
NOTIFICATIONS_SMS_FAILOVER_ERROR_RATE = env_float("NOTIFICATIONS_SMS_FAILOVER_ERROR_RATE", 0.5)
NOTIFICATIONS_SMS_FAILOVER_LATENCY_MS = env_int("NOTIFICATIONS_SMS_FAILOVER_LATENCY_MS", 5000)
# After COOLDOWN seconds down it is probed (half-open): PROBE_SHARE of the batches, PROBE_BATCH messages
# each; PROBE_ATTEMPTS good attempts restore its share, a bad window takes it down again.
NOTIFICATIONS_SMS_FAILOVER_COOLDOWN_SECONDS = env_float("NOTIFICATIONS_SMS_FAILOVER_COOLDOWN_SECONDS", 60.0)
NOTIFICATIONS_SMS_FAILOVER_PROBE_SHARE = env_float("NOTIFICATIONS_SMS_FAILOVER_PROBE_SHARE", 0.1)
NOTIFICATIONS_SMS_FAILOVER_PROBE_BATCH = env_int("NOTIFICATIONS_SMS_FAILOVER_PROBE_BATCH", 20)
NOTIFICATIONS_SMS_FAILOVER_PROBE_ATTEMPTS = env_int("NOTIFICATIONS_SMS_FAILOVER_PROBE_ATTEMPTS", 10)
CELERY_BEAT_SCHEDULE["sms-providers-health"] = {"task": "dispatch.sms_providers_health", **_sweep}

# --- Metrics (see the README's "Metrics") ---
# GET /metrics answers a request with "Authorization: Bearer <this token>", or a staff user's session.
NOTIFICATIONS_METRICS_TOKEN = env_secret("NOTIFICATIONS_METRICS_TOKEN")
# The numbers read from PostgreSQL (statuses, backlog) are reused this long between scrapes.
NOTIFICATIONS_METRICS_CACHE_SECONDS = env_int("NOTIFICATIONS_METRICS_CACHE_SECONDS", 15)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["core.auth.ServiceOwnerAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["core.auth.IsServiceOwner"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.problems.problem_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["core.throttling.CreatorRateThrottle"],
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Notifications API",
    "DESCRIPTION": "Send SMS and email notifications to citizens and organisations, and follow every "
    "notification until it reaches a final status.\n\n"
    # What the v1 orders API does better than the service it replaces (details in the README).
    "The v1 orders API follows the service it replaces, with these improvements: validation errors are "
    "keyed by JSON path (`recipients[0].mobileNumber`) and reported all at once; an order that is "
    "`Processed` is reported as `Processed` (not as `Completed`); `succeeded` counts SMS in Accepted and "
    "Delivered in every endpoint; recipients per order, text lengths and request size have limits; "
    "malformed JSON, wrong types, unknown enum values and non-UUID ids are 400 problems; the singular "
    "`/order/{id}...` paths of the old documentation are served as aliases.\n\n"
    # The same for the newer API under /future (details in each operation and in the README).
    "The newer API under `/future` (order chains with reminders, instant orders, shipments and the status "
    "feed) follows it too, with these improvements: the `Location` of a new chain is served "
    "(`GET /future/orders/chain/{id}`); receipts carry `smsPartCount`; a concurrent duplicate gets the "
    "first receipt (not a 500); status feed entries are visible at once and never out of order, and "
    "cancelled orders appear in the feed; a contact registry outage is a 503 NOT-00004, not a 500. "
    "Recipients by external identity, composed emails and the deprecated `/future/orders/instant` are "
    "not offered.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "NotificationChannelEnum": "orders.api.serializers.CHANNEL_VALUES",
        "OrderLifecycleEnum": "orders.api.future.output.ORDER_LIFECYCLE",
        "FinalOrderLifecycleEnum": "orders.api.future.output.FEED_ORDER_LIFECYCLE",
        "NotificationLifecycleEnum": "orders.api.future.output.NOTIFICATION_LIFECYCLE",
        "ShipmentTypeEnum": "orders.api.future.output.SHIPMENT_TYPES",
        "OrderChainTypeEnum": "orders.api.future.output.CHAIN_TYPES",
        "RecipientTypeEnum": "orders.api.future.output.RECIPIENT_TYPES",
    },
}

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "line": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    # NINs, phone numbers and email addresses are masked in whatever reaches a handler (defence in depth).
    "filters": {"personal_data": {"()": "core.logfilters.PersonalDataFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "line", "filters": ["personal_data"]}
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # One line per request comes from our middleware; Django's own would duplicate it.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
    },
}

# DEBUG only relaxes the defaults above for local use. Django's own debug mode stays off everywhere: it
# answers errors with technical pages (tracebacks with local variables and settings, the URL patterns)
# to any client, and keeps every SQL query in memory. Errors are problem details (urls.py handler*) and
# tracebacks go to the log. WhiteNoise still serves static files from the apps while developing.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
DEBUG = False
