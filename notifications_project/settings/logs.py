"""Logging: one line per record to the console, personal data masked, with the trace ids; tracing's switch."""

from __future__ import annotations

from typing import Any

from notifications_project.env import env_str

# --- Tracing (core/tracing.py): off unless an OTLP endpoint is set ---
OTEL_EXPORTER_OTLP_ENDPOINT = env_str("OTEL_EXPORTER_OTLP_ENDPOINT", "")
OTEL_SERVICE_NAME = env_str("OTEL_SERVICE_NAME", "notifications-service")

# Every line ends with the ids of the trace and span it was logged in (empty without one).
_TRACE_IDS = " trace_id=%(trace_id)s span_id=%(span_id)s"

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "line": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s" + _TRACE_IDS},
    },
    # NINs, phone numbers and email addresses are masked in whatever reaches a handler (defence in depth);
    # every record gets the ids of the trace it was logged in.
    "filters": {
        "personal_data": {"()": "core.logfilters.PersonalDataFilter"},
        "trace_context": {"()": "core.logfilters.TraceContextFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "line",
            "filters": ["personal_data", "trace_context"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # One line per request comes from our middleware; Django's own would duplicate it.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
    },
}

# A Celery worker logs through handlers of its own (core.logfilters.add_trace_context_to_handlers gives
# them the trace ids): Celery's default formats, with the ids.
CELERY_WORKER_LOG_FORMAT = "[%(asctime)s: %(levelname)s/%(processName)s] %(message)s" + _TRACE_IDS
CELERY_WORKER_TASK_LOG_FORMAT = (
    "[%(asctime)s: %(levelname)s/%(processName)s] %(task_name)s[%(task_id)s]: %(message)s" + _TRACE_IDS
)
