from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.django_db
def test_health_reports_database_and_broker_up() -> None:
    response = Client().get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "healthy", "checks": {"database": "up", "broker": "up"}}


@pytest.mark.django_db
def test_health_is_503_when_the_broker_is_down(settings) -> None:
    from notifications_project.launcher.servers import free_port

    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = Client().get("/health")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "up", "broker": "down"}
