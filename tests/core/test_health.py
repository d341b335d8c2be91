from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core.health import pending_migrations
from core.version import PYPROJECT, service_version, version_from_pyproject


@pytest.fixture(autouse=True)
def _fresh_migration_count() -> Iterator[None]:
    recheck_seconds = pending_migrations.recheck_seconds
    pending_migrations.forget()
    yield
    pending_migrations.forget()
    pending_migrations.recheck_seconds = recheck_seconds


def _released_version() -> str:
    with PYPROJECT.open("rb") as file:
        return str(tomllib.load(file)["project"]["version"])


@pytest.mark.django_db
def test_health_reports_database_and_broker_up() -> None:
    response = Client().get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "healthy",
        "checks": {"database": "up", "broker": "up"},
        "version": _released_version(),
        "migrations": {"pending": 0},
    }


@pytest.mark.django_db
def test_health_is_503_when_the_broker_is_down(settings) -> None:
    from notifications_project.launcher.servers import free_port

    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = Client().get("/health")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "up", "broker": "down"}


def test_the_version_is_the_installed_release() -> None:
    assert service_version() == _released_version()


def test_without_package_metadata_the_version_comes_from_pyproject(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "notifications-service"\nversion = "9.8.7"\n')
    assert version_from_pyproject(path) == "9.8.7"
    path.write_text('[project]\nname = "notifications-service"\n')
    assert version_from_pyproject(path) is None
    assert version_from_pyproject(tmp_path / "missing.toml") is None


@pytest.mark.django_db
def test_the_migration_count_is_read_once_when_nothing_is_pending() -> None:
    Client().get("/health")
    with CaptureQueriesContext(connection) as queries:
        response = Client().get("/health")
    assert response.json()["migrations"] == {"pending": 0}
    assert [query["sql"] for query in queries.captured_queries] == ["SELECT 1"]


def test_pending_migrations_are_shown_and_the_service_stays_healthy(migrator) -> None:
    migrator.apply_tested_migration([("orders", "0001_initial")])
    # Every orders migration after 0001 (counted, so a new migration does not change this test).
    later = len(MigrationExecutor(connection).migration_plan(MigrationLoader(connection).graph.leaf_nodes()))
    assert later >= 1

    response = Client().get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"
    assert response.json()["migrations"] == {"pending": later}

    pending_migrations.recheck_seconds = 3600
    migrator.apply_tested_migration(list(MigrationLoader(connection).graph.leaf_nodes()))
    # Not counted again before the re-check interval has passed ...
    assert Client().get("/health").json()["migrations"] == {"pending": later}
    # ... and counted again once it has.
    pending_migrations.recheck_seconds = 0
    assert Client().get("/health").json()["migrations"] == {"pending": 0}


@pytest.mark.django_db
def test_liveness_answers_without_asking_the_database_or_the_broker(settings) -> None:
    from notifications_project.launcher.servers import free_port

    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens: /health says 503
    assert Client().get("/health").status_code == 503
    with CaptureQueriesContext(connection) as queries:
        response = Client().get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "alive", "version": _released_version()}
    assert queries.captured_queries == []


def test_liveness_is_read_only() -> None:
    assert Client().post("/health/live").status_code == 405


@pytest.mark.django_db
def test_health_answers_a_probe_by_an_address_not_in_allowed_hosts(settings) -> None:
    """A load balancer probes the instance's own address; other paths still validate the Host header."""
    settings.ALLOWED_HOSTS = ["notifications.example.org"]
    client = Client(HTTP_HOST="10.1.2.3:8000")

    assert client.get("/health").status_code == 200
    assert client.get("/health/live").status_code == 200
    assert client.get("/notifications/api/v1/whoami").status_code == 400
    assert client.post("/health").status_code == 405
