"""Housekeeping tasks: beat runs them by name; each deletes only what is past its retention."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

import dispatch.tasks  # noqa: F401 - registers the tasks beat names
from notifications_project.celery import app as celery_app
from orders.models import IdempotencyKey

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch) -> list[str]:
    """Tasks published to the broker (the network edge), recorded instead of sent."""
    names: list[str] = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, *args, **kwargs: names.append(name))
    return names


def test_every_beat_entry_names_a_registered_task() -> None:
    celery_app.loader.import_default_modules()  # as a worker does at start
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in celery_app.tasks


def test_the_purge_task_deletes_idempotency_keys_past_their_retention(api_client, published) -> None:
    response = api_client.post(
        "/notifications/api/v1/orders/sms",
        data=json.dumps({"body": "Hei", "recipients": [{"mobileNumber": "+4799315000"}]}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="retry-1",
    )
    assert response.status_code == 202
    task = celery_app.tasks["dispatch.idempotency_keys_purge"]

    assert task.apply().get() == 0
    with time_machine.travel(timezone.now() + timedelta(hours=25), tick=False):
        assert task.apply().get() == 1
    assert not IdempotencyKey.objects.exists()
