"""`GET /health`: the state of PostgreSQL and the broker, 200 when both answer, 503 otherwise (readiness).
`GET /health/live`: 200 as long as the process answers HTTP at all (liveness); it touches nothing.

A load balancer routes by ``/health``: an instance that cannot reach the database or the broker should get
no requests. A process manager restarts by ``/health/live``: a database outage is not cured by restarting
every web process, so liveness must not depend on anything outside the process.

The body also says which release answers (``version``) and how many of its migrations the database has
not applied yet (``migrations.pending``). Pending migrations are shown but do not make the service
unhealthy: in a rolling upgrade the new release starts while (or before) ``migrate`` runs, and the
migrations of a release are written so that the code of either side works on either schema (see
docs/upgrading.md). Failing the check then would make a load balancer drain every new instance for the
length of the migration, or for good where ``migrate`` runs from the new release after it starts. A
deployment waits for ``pending`` to reach 0 instead. ``pending`` is null while the database cannot be
asked (the database check is then down anyway).

It answers whatever ``Host`` a request names (``HealthMiddleware``): probes address an instance by its own
address, which is rarely in ``ALLOWED_HOSTS``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from core.version import service_version

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any failure means "down"; the reason goes to the log, not the client
        logger.warning("health: database check failed", exc_info=True)
        connection.close_if_unusable_or_obsolete()
        return False
    return True


def _broker_ok() -> bool:
    try:
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.RedisError:
        logger.warning("health: broker check failed", exc_info=True)
        return False


class PendingMigrations:
    """How many migrations of the code are not applied yet, counted at most once per ``recheck_seconds``.

    /health is polled by load balancers every few seconds, and counting loads the migration graph and
    reads django_migrations. Once the count is 0 it is kept for the life of the process: the code's
    migrations cannot change under it, and reversing them under running code is not an upgrade step.
    While migrations are pending it is counted again at most every ``recheck_seconds``.
    """

    def __init__(self, recheck_seconds: float = 5.0) -> None:
        self.recheck_seconds = recheck_seconds
        self._lock = threading.Lock()
        self._count: int | None = None
        self._counted_at = 0.0

    def count(self) -> int | None:
        with self._lock:
            fresh = time.monotonic() - self._counted_at < self.recheck_seconds
            if self._count == 0 or (self._count is not None and fresh):
                return self._count
            try:
                executor = MigrationExecutor(connection)
                self._count = len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
            except Exception:  # the database went away between the checks: unknown, asked again next time
                logger.warning("health: migration check failed", exc_info=True)
                connection.close_if_unusable_or_obsolete()
                self._count = None
            self._counted_at = time.monotonic()
            return self._count

    def forget(self) -> None:
        with self._lock:
            self._count = None
            self._counted_at = 0.0


pending_migrations = PendingMigrations()


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    healthy = all(checks.values())
    body = {
        "status": "healthy" if healthy else "unhealthy",
        "checks": {name: "up" if ok else "down" for name, ok in checks.items()},
        "version": service_version(),
        "migrations": {"pending": pending_migrations.count() if checks["database"] else None},
    }
    return JsonResponse(body, status=200 if healthy else 503)


@require_GET
def live(request: HttpRequest) -> JsonResponse:
    """Liveness: the process serves requests. No database, no broker, no migration count."""
    return JsonResponse({"status": "alive", "version": service_version()})


class HealthMiddleware:
    """Answers ``/health`` and ``/health/live`` before anything reads the ``Host`` header, so a probe is
    never refused by it.

    Load balancers and orchestrators probe an instance by its own address (a pod's IP, an instance's
    private address), which is rarely in ALLOWED_HOSTS; Django would answer them a bare 400 and the
    instance would be drained with no clue why. Host validation guards what is built from the header
    (absolute URLs, redirects, links in emails); the health answer builds nothing from it, sets no cookie
    and is public anyway, so it is the same whatever the header says. Every other path is still
    validated. Placed after SecurityMiddleware (its headers; /health is exempt from its HTTPS redirect).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == "/health":
            return health(request)
        if request.path_info == "/health/live":
            return live(request)
        return self.get_response(request)
