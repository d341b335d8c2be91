"""Sending has its own broker queue; everything else stays on the default one, and nothing goes to both."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from celery import Celery
from django.conf import settings

# A database of the test run's Redis that no other test uses.
DB = 13


@pytest.fixture
def broker() -> Iterator[tuple[Celery, str, redis.Redis]]:
    url = settings.CELERY_BROKER_URL.rsplit("/", 1)[0] + f"/{DB}"
    app = Celery("queues-test")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield app, url, client
    client.flushdb()
    client.close()


def test_the_send_task_goes_to_the_sending_queue_only(broker):
    app, url, client = broker

    # The CELERY_BROKER_URL environment variable wins over any setting: name the connection here.
    with app.connection_for_write(url) as connection:
        app.send_task("dispatch.notifications_send", connection=connection)
        app.send_task(
            "dispatch.order_process", args=["00000000-0000-0000-0000-000000000000"], connection=connection
        )

    assert (client.llen("sending"), client.llen("celery")) == (1, 1)


def test_a_worker_without_queues_named_consumes_both():
    assert [queue.name for queue in settings.CELERY_TASK_QUEUES] == ["celery", "sending"]
    # Distinct routing keys: a message routed to one queue is never copied into the other.
    assert len({queue.routing_key for queue in settings.CELERY_TASK_QUEUES}) == 2
