"""Status callbacks through the API: ``statusCallbackUrl`` on every order-creating POST, and an order on
the defaults whose events reach a local receiver that verifies them and fails the first attempts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

import dispatch.tasks  # noqa: F401 - registers the tasks that are enqueued by name
from dispatch.models import CallbackDelivery, CallbackState
from dispatch.services.callback_posting import callbacks_deliver
from dispatch.services.callback_secrets import callback_secret_get_or_create
from dispatch.services.reports import sandbox_reports_deliver
from fakes.callback_receiver import CallbackReceiver
from notifications_project.celery import app as celery_app
from orders.models import Order
from tests.dispatch.sending_support import fresh_providers

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_providers")]
__all__ = ["fresh_providers"]
API = "/notifications/api/v1"
CALLBACK = "https://client.example.no/notification-status"

ORDERS = [
    ("/orders/sms", {"body": "Hei", "recipients": [{"mobileNumber": "+4799999999"}]}),
    ("/orders/email", {"subject": "Hei", "body": "Hallo", "recipients": [{"emailAddress": "a@b.no"}]}),
    (
        "/orders",
        {
            "notificationChannel": "Sms",
            "smsTemplate": {"body": "Hei"},
            "recipients": [{"mobileNumber": "+4799999999"}],
        },
    ),
]


@pytest.fixture
def tasks_run_inline(monkeypatch):
    """Tasks enqueued by name run at once in this process, as a worker would run them."""

    def send_task(name: str, args: list[Any] | None = None, kwargs: dict[str, Any] | None = None, **_: Any):
        return celery_app.tasks[name].apply(args=args or [], kwargs=kwargs or {})

    monkeypatch.setattr(celery_app, "send_task", send_task)


@pytest.mark.parametrize(("path", "body"), ORDERS)
def test_every_order_request_takes_a_status_callback_url_and_reads_it_back(api_client, path, body):
    response = api_client.post(f"{API}{path}", {**body, "statusCallbackUrl": CALLBACK}, format="json")
    assert response.status_code == 202, response.content

    order_id = response.json()["orderId"]
    assert Order.objects.get(id=order_id).status_callback_url == CALLBACK
    assert api_client.get(f"{API}/orders/{order_id}").json()["statusCallbackUrl"] == CALLBACK


@pytest.mark.parametrize("value", [None, ""])
def test_an_empty_status_callback_url_means_none(api_client, value):
    path, body = ORDERS[0]
    response = api_client.post(f"{API}{path}", {**body, "statusCallbackUrl": value}, format="json")
    assert response.status_code == 202
    order_id = response.json()["orderId"]
    assert Order.objects.get(id=order_id).status_callback_url is None
    assert "statusCallbackUrl" not in api_client.get(f"{API}/orders/{order_id}").json()


@pytest.mark.parametrize(
    "value",
    ["http://client.example.no/cb", "ftp://client.example.no/cb", "/relative", "https://", "not a url", 42],
)
def test_anything_but_an_absolute_https_url_is_refused_in_production(api_client, settings, value):
    settings.NOTIFICATIONS_CALLBACK_ALLOW_HTTP = False
    path, body = ORDERS[0]
    response = api_client.post(f"{API}{path}", {**body, "statusCallbackUrl": value}, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "statusCallbackUrl" in response.json()["errors"]


def test_http_is_accepted_when_allowed(api_client, settings):
    settings.NOTIFICATIONS_CALLBACK_ALLOW_HTTP = True
    path, body = ORDERS[0]
    response = api_client.post(
        f"{API}{path}", {**body, "statusCallbackUrl": "http://127.0.0.1:8080/cb"}, format="json"
    )
    assert response.status_code == 202


def test_an_order_on_the_defaults_reports_its_delivery_and_completion_to_a_failing_receiver(
    api_client, tasks_run_inline, django_capture_on_commit_callbacks, settings
):
    settings.NOTIFICATIONS_CALLBACK_ALLOW_HTTP = True
    receiver = CallbackReceiver(secrets=[callback_secret_get_or_create(creator="ttd").secret], fail_first=2)
    receiver.start()
    try:
        body = {**ORDERS[0][1], "statusCallbackUrl": receiver.url, "sendersReference": "case-9"}
        with django_capture_on_commit_callbacks(execute=True):
            order_id = api_client.post(f"{API}/orders/sms", body, format="json").json()["orderId"]
        with (
            time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            # Delivered and completed; the commit asks for a delivery run, which meets the failing receiver.
            assert sandbox_reports_deliver() == 1
        assert receiver.requests
        assert all(request["answer"] == 500 for request in receiver.requests)

        start = timezone.now()
        for minutes in (5, 60):  # the retries, each once its backoff has passed
            with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
                callbacks_deliver()
    finally:
        receiver.stop()

    answers = [request["answer"] for request in receiver.requests]
    assert answers.count(500) == 2
    assert answers.count(200) == 2

    assert all(request["verified"] for request in receiver.requests)
    by_type = {body["type"]: body for body in receiver.accepted}
    notification = by_type["notification.status"]
    assert (notification["orderId"], notification["sendersReference"], notification["channel"]) == (
        order_id,
        "case-9",
        "Sms",
    )
    assert notification["notification"]["sendStatus"]["status"] == "Delivered"
    assert notification["notification"]["recipient"] == {"mobileNumber": "+4799999999"}
    assert by_type["order.status"]["processingStatus"]["status"] == "Completed"
    assert set(CallbackDelivery.objects.values_list("state", flat=True)) == {CallbackState.DELIVERED}
