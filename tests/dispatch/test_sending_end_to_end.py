"""End to end on the run command's defaults: API order → processing → sandbox send → report → API read."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

import dispatch.tasks  # noqa: F401 - registers the tasks that are enqueued by name
from dispatch.services.reports import sandbox_reports_deliver
from notifications_project.celery import app as celery_app
from orders.models import Order, OrderStatus
from tests.dispatch.sending_support import fresh_providers

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_providers")]
__all__ = ["fresh_providers"]
API = "/notifications/api/v1"


@pytest.fixture
def tasks_run_inline(monkeypatch):
    """Tasks enqueued by name run at once in this process, as a worker would run them."""

    def send_task(name: str, args: list[Any] | None = None, kwargs: dict[str, Any] | None = None, **_: Any):
        return celery_app.tasks[name].apply(args=args or [], kwargs=kwargs or {})

    monkeypatch.setattr(celery_app, "send_task", send_task)


@pytest.mark.parametrize(
    ("path", "body", "kind", "address"),
    [
        (
            "/orders/sms",
            {"body": "Hei", "recipients": [{"mobileNumber": "+4799999999"}]},
            "sms",
            "mobileNumber",
        ),
        (
            "/orders/email",
            {"subject": "Hei", "body": "Hallo", "recipients": [{"emailAddress": "recipient@domain.com"}]},
            "email",
            "emailAddress",
        ),
    ],
)
def test_an_order_on_the_defaults_is_delivered_and_reads_so_over_the_api(
    api_client, tasks_run_inline, django_capture_on_commit_callbacks, path, body, kind, address
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(f"{API}{path}", body, format="json")
    assert response.status_code == 202, response.content
    order_id = response.json()["orderId"]

    read = api_client.get(f"{API}/orders/{order_id}/notifications/{kind}").json()
    assert read["generated"] == 1
    assert read["notifications"][0]["sendStatus"]["status"] in ("Accepted", "Succeeded")
    assert read["succeeded"] == 1

    with (
        time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert sandbox_reports_deliver() == 1

    read = api_client.get(f"{API}/orders/{order_id}/notifications/{kind}").json()
    [notification] = read["notifications"]
    assert notification["sendStatus"]["status"] == "Delivered"
    assert notification["succeeded"] is True
    assert notification["recipient"][address] == body["recipients"][0][address]
    assert Order.objects.get(id=order_id).status == OrderStatus.COMPLETED


def test_a_simulated_permanent_failure_reads_as_its_final_status(
    api_client, tasks_run_inline, django_capture_on_commit_callbacks
):
    body = {"body": "Hei", "recipients": [{"mobileNumber": "+4799000001"}]}
    with django_capture_on_commit_callbacks(execute=True):
        order_id = api_client.post(f"{API}/orders/sms", body, format="json").json()["orderId"]
    read = api_client.get(f"{API}/orders/{order_id}/notifications/sms").json()
    assert read["notifications"][0]["sendStatus"]["status"] == "Failed_InvalidRecipient"
    assert read["succeeded"] == 0
