"""The pipeline: the SMS send window, order processing, sending and its providers, status callbacks, SMS
failover, and the beat schedule of their sweeps."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from notifications_project.env import env_bool, env_float, env_int, env_secret, env_str
from notifications_project.settings.base import DEBUG
from notifications_project.settings.broker import NOTIFICATIONS_SWEEP_INTERVAL

# Filled section by section below: each sweep next to the settings of what it does.
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}

# --- SMS send window (for sendingTimePolicy Daytime) ---
# "HH:MM-HH:MM" in NOTIFICATIONS_SMS_TIME_ZONE, or "anytime" to lift the window.
NOTIFICATIONS_SMS_SEND_WINDOW = env_str("NOTIFICATIONS_SMS_SEND_WINDOW", "09:00-17:00")
NOTIFICATIONS_SMS_TIME_ZONE = env_str("NOTIFICATIONS_SMS_TIME_ZONE", "Europe/Oslo")
# The window stays shut on this country's public holidays (ISO 3166 code; empty: none), and on
# Saturdays and Sundays when CLOSED_ON_WEEKENDS is set.
NOTIFICATIONS_SMS_HOLIDAYS_COUNTRY = env_str("NOTIFICATIONS_SMS_HOLIDAYS_COUNTRY", "NO")
NOTIFICATIONS_SMS_CLOSED_ON_WEEKENDS = env_bool("NOTIFICATIONS_SMS_CLOSED_ON_WEEKENDS", False)

# --- Order processing (see docs/pipeline.md) ---
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

# --- Sending (see docs/sending.md) ---
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
# While a send run works through one channel's batch, it asks this often at most whether the other channel
# has a due notification, and sends a few of it in between (an immediate email during bulk SMS); 0: never.
NOTIFICATIONS_SEND_INTERLEAVE_SECONDS = env_float("NOTIFICATIONS_SEND_INTERLEAVE_SECONDS", 0.02)
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
# A worker keeps its email connection (SMTP session) between send runs while it has been idle less than
# this, so an immediate email is not held up by a new session; 0: a new connection for every run.
NOTIFICATIONS_EMAIL_CONNECTION_IDLE_SECONDS = env_float("NOTIFICATIONS_EMAIL_CONNECTION_IDLE_SECONDS", 30.0)
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

# --- Status callbacks (see docs/pipeline.md, "Status callbacks") ---
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


# --- SMS failover (see docs/pipeline.md, "SMS failover") ---
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
