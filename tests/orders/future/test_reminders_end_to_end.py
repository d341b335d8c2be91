"""End to end: an order chain through the pipeline, each reminder at its own time with its own condition.

API → ``order_process`` / the due-order sweep → sandbox send → sandbox delivery report → shipment manifest
and status feed, with a real condition endpoint on 127.0.0.1 and time moved with time-machine.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from dispatch.services.processing import order_process, orders_process_due
from dispatch.services.reports import sandbox_reports_deliver
from dispatch.services.sending import notifications_send
from orders.models import Order, OrderStatus
from tests.orders.future.conftest import FUTURE, post_future

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_providers")]


@pytest.fixture
def condition_server() -> Iterator[tuple[str, list[str]]]:
    """Answers ``GET /yes`` with sendNotification true and ``/no`` with false; records the paths asked."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            body = b'{"sendNotification": %s}' % (b"true" if self.path.startswith("/yes") else b"false")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", asked
    server.shutdown()
    server.server_close()


@pytest.fixture
def deliver_reports(django_capture_on_commit_callbacks: Any) -> Any:
    """Deliver the sandbox's reports due by ``at`` + 5 s, running what they enqueue after commit."""

    def deliver(at: Any) -> int:
        with (
            time_machine.travel(at + timedelta(seconds=5), tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            return sandbox_reports_deliver()

    return deliver


def test_a_chain_sends_its_notification_now_and_each_reminder_when_due_if_its_condition_allows(
    api_client: APIClient, condition_server: tuple[str, list[str]], deliver_reports: Any
) -> None:
    url, asked = condition_server
    start = timezone.now()
    receipt = post_future(
        api_client,
        "/orders",
        {
            "idempotencyId": "e2e-chain",
            "sendersReference": "case-1",
            "recipient": {
                "recipientSms": {
                    "phoneNumber": "+4799999999",
                    "smsSettings": {"body": "Du har en ny melding", "sendingTimePolicy": "Anytime"},
                }
            },
            "reminders": [
                {
                    "delayDays": 1,
                    "conditionEndpoint": f"{url}/no?case=1",
                    "sendersReference": "reminder-1",
                    "recipient": {
                        "recipientEmail": {
                            "emailAddress": "ola@example.no",
                            "emailSettings": {"subject": "Påminnelse", "body": "Husk meldingen"},
                        }
                    },
                },
                {
                    "delayDays": 2,
                    "conditionEndpoint": f"{url}/yes?case=1",
                    "recipient": {
                        "recipientEmail": {
                            "emailAddress": "ola@example.no",
                            "emailSettings": {"subject": "Siste påminnelse", "body": "Husk meldingen"},
                        }
                    },
                },
            ],
        },
    ).json()
    main_id = receipt["notification"]["shipmentId"]
    first_id, second_id = (r["shipmentId"] for r in receipt["notification"]["reminders"])

    # The main notification: processed, sent through the sandbox, delivered, completed.
    assert order_process(order_id=uuid.UUID(main_id)).status == OrderStatus.PROCESSED
    assert notifications_send().accepted == 1
    assert deliver_reports(start) == 1
    # The reminders wait for their own time.
    assert orders_process_due() == 0
    assert set(Order.objects.filter(id__in=[first_id, second_id]).values_list("status", flat=True)) == {
        "Registered"
    }
    assert asked == []

    with time_machine.travel(start + timedelta(days=1, minutes=1), tick=False):
        assert orders_process_due() == 1  # only the first reminder is due
    assert asked == ["/no?case=1"]
    assert Order.objects.get(id=first_id).status == OrderStatus.SEND_CONDITION_NOT_MET

    with time_machine.travel(start + timedelta(days=2, minutes=1), tick=False):
        assert orders_process_due() == 1
        assert notifications_send().accepted == 1
    assert deliver_reports(start + timedelta(days=2, minutes=1)) == 1
    assert asked == ["/no?case=1", "/yes?case=1"]

    manifests = {
        shipment_id: api_client.get(f"{FUTURE}/shipment/{shipment_id}").json()
        for shipment_id in (main_id, first_id, second_id)
    }
    assert manifests[main_id] == {
        "shipmentId": main_id,
        "sendersReference": "case-1",
        "type": "Notification",
        "status": "Order_Completed",
        "lastUpdate": manifests[main_id]["lastUpdate"],
        "recipients": [
            {
                "type": "SMS",
                "destination": "+4799999999",
                "status": "SMS_Delivered",
                "lastUpdate": manifests[main_id]["recipients"][0]["lastUpdate"],
            }
        ],
    }
    assert (
        manifests[first_id]["type"],
        manifests[first_id]["status"],
        manifests[first_id]["recipients"],
    ) == (
        "Reminder",
        "Order_SendConditionNotMet",
        [],
    )
    assert [r["status"] for r in manifests[second_id]["recipients"]] == ["Email_Delivered"]

    feed = api_client.get(f"{FUTURE}/shipment/feed").json()
    assert [(e["shipmentId"], e["shipmentType"], e["status"]) for e in feed] == [
        (main_id, "Notification", "Order_Completed"),
        (first_id, "Reminder", "Order_SendConditionNotMet"),
        (second_id, "Reminder", "Order_Completed"),
    ]
    assert feed[0]["sendersReference"] == "case-1"
    assert feed[1]["sendersReference"] == "reminder-1"
    assert "sendersReference" not in feed[2]
    assert [(r["destination"], r["status"]) for r in feed[2]["recipients"]] == [
        ("ola@example.no", "Email_Delivered")
    ]
    chain = api_client.get(f"{FUTURE}/orders/chain/{receipt['notificationOrderId']}").json()
    assert [r["status"] for r in chain["notification"]["reminders"]] == [
        "Order_SendConditionNotMet",
        "Order_Completed",
    ]
