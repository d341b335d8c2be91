"""Celery on Redis (only the broker; PostgreSQL holds the truth), and the cache on the same Redis."""

from __future__ import annotations

from datetime import timedelta

from kombu import Queue

from notifications_project.env import env_float, env_str

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
NOTIFICATIONS_SWEEP_INTERVAL = timedelta(seconds=env_float("NOTIFICATIONS_SWEEP_INTERVAL_SECONDS", 5.0))

# One Redis connection pool per process (core.cache): Django's own backend made one per request here.
CACHES = {
    "default": {
        "BACKEND": "core.cache.SharedPoolRedisCache",
        "LOCATION": env_str("CACHE_URL", CELERY_BROKER_URL),
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}
# Celery closes the database connection before and after every task unless this is set: a new PostgreSQL
# backend (a fork and an authentication) per task, the largest part of an immediate order's hops. Tasks
# reuse their process's connection instead; dispatch/tasks/__init__.py applies CONN_MAX_AGE and the health
# check around each task as Django does around a request.
CELERY_DB_REUSE_MAX = 1000
