"""The API and what it reaches: tokens and their keys, order limits, rate limit, the newer API, outbound
requests, the admin dashboard, retention, the contact registry, metrics, DRF and the OpenAPI document."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from notifications_project.env import env_float, env_int, env_list, env_secret, env_str
from notifications_project.settings.base import PORT, VAR_DIR

# --- API ---
NOTIFICATIONS_BASE_URI = env_str("NOTIFICATIONS_BASE_URI", f"http://localhost:{PORT}").rstrip("/")
# The identity provider's keys: bearer tokens are verified against these only.
NOTIFICATIONS_JWKS_FILE = env_str("NOTIFICATIONS_JWKS_FILE", str(VAR_DIR / "keys" / "jwks.json"))
# When set, a bearer token's `iss` must be one of these and its `aud` must include the audience; a key set
# shared by several issuers or services then cannot lend their tokens to this one. Empty: not checked.
NOTIFICATIONS_JWT_ISSUERS = env_list("NOTIFICATIONS_JWT_ISSUERS", [])
NOTIFICATIONS_JWT_AUDIENCE = env_str("NOTIFICATIONS_JWT_AUDIENCE", "")
# Seconds a token's `exp` (and `nbf`, `iat`) may be off for clock skew. The reference allows none.
NOTIFICATIONS_JWT_LEEWAY_SECONDS = env_int("NOTIFICATIONS_JWT_LEEWAY_SECONDS", 0)
if not 0 <= NOTIFICATIONS_JWT_LEEWAY_SECONDS <= 300:
    raise ImproperlyConfigured("NOTIFICATIONS_JWT_LEEWAY_SECONDS must be between 0 and 300.")
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
# The scope of the support lookups (GET /future/dashboard/...), which read across creators.
NOTIFICATIONS_SUPPORT_SCOPE = "altinn:notifications.support.admin"
NOTIFICATIONS_DEFAULT_EMAIL_FROM = env_str("NOTIFICATIONS_DEFAULT_EMAIL_FROM", "noreply@altinn.cloud")
NOTIFICATIONS_DEFAULT_SMS_SENDER = env_str("NOTIFICATIONS_DEFAULT_SMS_SENDER", "Altinn")
# Order limits the reference lacks: a request beyond them is a 400 at registration, not a failure later.
NOTIFICATIONS_MAX_RECIPIENTS_PER_ORDER = env_int("NOTIFICATIONS_MAX_RECIPIENTS_PER_ORDER", 100_000)
NOTIFICATIONS_MAX_SMS_BODY_CHARS = env_int("NOTIFICATIONS_MAX_SMS_BODY_CHARS", 1600)
NOTIFICATIONS_MAX_EMAIL_BODY_CHARS = env_int("NOTIFICATIONS_MAX_EMAIL_BODY_CHARS", 256 * 1024)
NOTIFICATIONS_MAX_EMAIL_SUBJECT_CHARS = env_int("NOTIFICATIONS_MAX_EMAIL_SUBJECT_CHARS", 998)
NOTIFICATIONS_MAX_SENDERS_REFERENCE_CHARS = env_int("NOTIFICATIONS_MAX_SENDERS_REFERENCE_CHARS", 500)
# A receipt warns (never refuses) when an SMS is sent as more parts than this; 0 turns the warning off.
NOTIFICATIONS_SMS_WARN_PARTS = env_int("NOTIFICATIONS_SMS_WARN_PARTS", 3)
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

# --- Authorization of organizations' contact persons (orders with a resourceId; docs/authorization.md) ---
NOTIFICATIONS_AUTHORIZATION_BACKEND = env_str("NOTIFICATIONS_AUTHORIZATION_BACKEND", "database")  # or "http"
# The XACML JSON decision endpoint (Altinn: https://<platform>/authorization/api/v1/decision).
NOTIFICATIONS_AUTHORIZATION_URL = env_str("NOTIFICATIONS_AUTHORIZATION_URL", "")
NOTIFICATIONS_AUTHORIZATION_TIMEOUT_SECONDS = env_float("NOTIFICATIONS_AUTHORIZATION_TIMEOUT_SECONDS", 5.0)
# Questions per decision request (the reference's AuthorizationBatchSize).
NOTIFICATIONS_AUTHORIZATION_BATCH_SIZE = env_int("NOTIFICATIONS_AUTHORIZATION_BATCH_SIZE", 500)
# Sent as "Ocp-Apim-Subscription-Key" when set
# (or read from NOTIFICATIONS_AUTHORIZATION_SUBSCRIPTION_KEY_FILE).
NOTIFICATIONS_AUTHORIZATION_SUBSCRIPTION_KEY = env_secret("NOTIFICATIONS_AUTHORIZATION_SUBSCRIPTION_KEY")

# --- Metrics (see docs/operations.md, "Metrics") ---
# GET /metrics answers a request with "Authorization: Bearer <this token>", or a staff user's session.
NOTIFICATIONS_METRICS_TOKEN = env_secret("NOTIFICATIONS_METRICS_TOKEN")
# The numbers read from PostgreSQL (statuses, backlog) are reused this long between scrapes.
NOTIFICATIONS_METRICS_CACHE_SECONDS = env_int("NOTIFICATIONS_METRICS_CACHE_SECONDS", 15)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["core.auth.ServiceOwnerAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["core.auth.IsServiceOwner"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # DRF's negotiation, answering the usual Accept headers without parsing them (core/negotiation.py).
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.negotiation.JsonFirstNegotiation",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.problems.problem_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["core.throttling.CreatorRateThrottle"],
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Notifications API",
    "DESCRIPTION": "Send SMS and email notifications to citizens and organisations, and follow every "
    "notification until it reaches a final status.\n\n"
    # What the v1 orders API does better than the service it replaces (details in docs/api.md).
    "The v1 orders API follows the service it replaces, with these improvements: validation errors are "
    "keyed by JSON path (`recipients[0].mobileNumber`) and reported all at once; an order that is "
    "`Processed` is reported as `Processed` (not as `Completed`); `succeeded` counts SMS in Accepted and "
    "Delivered in every endpoint; recipients per order, text lengths and request size have limits; "
    "malformed JSON, wrong types, unknown enum values and non-UUID ids are 400 problems; the singular "
    "`/order/{id}...` paths of the old documentation are served as aliases.\n\n"
    # The same for the newer API under /future (details in each operation and in docs/api.md).
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
        "ProblemCodeEnum": "core.problem_codes.CODES",
        # A stored template's type and a dry-run notification's channel: one choice set.
        "EmailOrSmsEnum": "templates.models.TemplateType",
    },
}
