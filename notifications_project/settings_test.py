"""Test settings: the real PostgreSQL and Redis started by the test command, eager Celery, fast hashing."""

from __future__ import annotations

import os

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("SECRET_KEY", "test-secret-key")

from notifications_project.settings import *  # noqa: E402,F403

CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
NOTIFICATIONS_BASE_URI = "http://testserver"
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# The tests' local HTTP servers (condition endpoints, registry) listen on loopback.
NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
# Off by default in tests (the suite sends thousands of requests as one creator); its own tests turn it on.
NOTIFICATIONS_RATE_LIMIT_PER_MINUTE = 0
# No public-holiday calendar: a test whose send window uses dates relative to today must not fail on a
# holiday. The holiday tests opt in (NOTIFICATIONS_SMS_HOLIDAYS_COUNTRY = "NO", the default elsewhere).
NOTIFICATIONS_SMS_HOLIDAYS_COUNTRY = ""
