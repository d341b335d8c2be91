"""Logging: one line per record to the console, personal data masked."""

from __future__ import annotations

from typing import Any

from notifications_project.env import env_str

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
