"""Processing with the HTTP contact registry, against a register stand-in served on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from dispatch.services.processing import order_process, orders_process_due
from notifications_project.celery import app as celery_app
from orders.models import NotificationChannel, Order, OrderStatus, Recipient, SmsNotification
from orders.registry.http import EXTERNAL_IDENTITIES_PATH, NAMES_PATH, ORGANIZATIONS_PATH, PERSONS_PATH
from tests.factories import OrderFactory, SmsTemplateFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class Register:
    """A register stand-in: organizations with addresses and names; ``down`` answers 503."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.down = False
        self.requests: list[tuple[str, Any]] = []
        self.organizations = {"311000001": (["+4799999991", "+4799999992"], "Testbedrift AS")}

    def answer(self, path: str, body: Any) -> Any:
        if path == ORGANIZATIONS_PATH:
            return {
                "contactPointsList": [
                    {"organizationNumber": n, "emailList": [], "mobileNumberList": self.organizations[n][0]}
                    for n in body["organizationNumbers"]
                    if n in self.organizations
                ]
            }
        if path == NAMES_PATH:
            return {
                "partyNames": [
                    {"orgNo": p["orgNo"], "name": self.organizations[p["orgNo"]][1]}
                    for p in body["parties"]
                    if p.get("orgNo") in self.organizations
                ]
            }
        if path == PERSONS_PATH:
            return {"contactPointsList": []}
        if path == EXTERNAL_IDENTITIES_PATH:
            return {
                "contactPointsList": [
                    {"externalIdentity": urn, "email": None, "mobileNumber": "004799999993"}
                    for urn in body["externalIdentities"]
                    if urn.endswith(":ola")
                ]
            }
        raise AssertionError(path)


@pytest.fixture
def register(settings) -> Iterator[Register]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.daemon_threads = True
    # A client that timed out has gone when the handler answers; that broken pipe is expected.
    server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    fake = Register(f"http://127.0.0.1:{server.server_address[1]}/register/")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            path = self.path.removeprefix("/register/")
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            fake.requests.append((path, body))
            status, payload = (
                (503, b"{}") if fake.down else (200, json.dumps(fake.answer(path, body)).encode())
            )
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    settings.NOTIFICATIONS_REGISTRY_BACKEND = "http"
    settings.NOTIFICATIONS_REGISTRY_URL = fake.url
    settings.NOTIFICATIONS_REGISTRY_TIMEOUT_SECONDS = 2.0
    yield fake
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch) -> None:
    monkeypatch.setattr(celery_app, "send_task", lambda *args, **kwargs: None)


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def connection_state(pid: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", [pid])
        return str(cursor.fetchone()[0])


def organization_order():
    order = OrderFactory(
        requested_send_time=timezone.now(),
        notification_channel=NotificationChannel.SMS,
        sms_template=SmsTemplateFactory(body="Hei $recipientName$ ($recipientNumber$)"),
    )
    Recipient.objects.create(order=order, position=0, organization_number="311000001")
    return order


def test_organization_from_the_http_registry_gets_personalised_sms_per_number(register):
    order = organization_order()

    result = order_process(order_id=order.id)

    assert result.status == OrderStatus.PROCESSED
    assert set(SmsNotification.objects.filter(order=order).values_list("mobile_number", "body")) == {
        ("+4799999991", "Hei Testbedrift AS (311000001)"),
        ("+4799999992", "Hei Testbedrift AS (311000001)"),
    }


def test_registry_outage_keeps_the_order_and_retries_it_with_backoff(register, settings, time_machine):
    time_machine.move_to(NOW, tick=False)
    settings.NOTIFICATIONS_REGISTRY_RETRY_DELAY = timedelta(seconds=30)
    settings.NOTIFICATIONS_REGISTRY_RETRY_MAX_DELAY = timedelta(seconds=100)
    register.down = True
    order = organization_order()

    first = order_process(order_id=order.id)

    assert first.status == OrderStatus.PROCESSING
    assert first.next_attempt_at == NOW + timedelta(seconds=30)
    assert "registry is unavailable" in first.processing_note
    assert not SmsNotification.objects.filter(order=order).exists()

    time_machine.shift(timedelta(seconds=30))
    assert orders_process_due() == 1  # still down: the delay doubles
    order.refresh_from_db()
    assert order.next_attempt_at == timezone.now() + timedelta(seconds=60)

    time_machine.shift(timedelta(seconds=60))
    orders_process_due()  # and is capped
    order.refresh_from_db()
    assert order.next_attempt_at == timezone.now() + timedelta(seconds=100)

    register.down = False
    time_machine.shift(timedelta(seconds=99))
    assert orders_process_due() == 0
    time_machine.shift(timedelta(seconds=1))
    assert orders_process_due() == 1

    order.refresh_from_db()
    assert (order.status, order.processing_attempts) == (OrderStatus.PROCESSED, 4)
    assert SmsNotification.objects.filter(order=order).count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_registry_is_asked_with_no_transaction_open_and_the_order_unlocked(register, monkeypatch):
    order = organization_order()
    worker_pid = backend_pid()
    seen: list[tuple[str, str]] = []
    original = register.answer

    def inspect(path: str, body: Any) -> Any:
        # Another connection, while the worker waits for the register: the order row is free and the
        # worker's connection is idle, not idle in a transaction.
        try:
            with transaction.atomic():
                status = Order.objects.select_for_update(nowait=True).get(id=order.id).status
            seen.append((status, connection_state(worker_pid)))
        finally:
            connection.close()
        return original(path, body)

    monkeypatch.setattr(register, "answer", inspect)

    assert order_process(order_id=order.id).status == OrderStatus.PROCESSED
    assert seen
    assert set(seen) == {(OrderStatus.PROCESSING, "idle")}


def test_registry_timeout_is_an_outage_not_a_failure(register, settings, monkeypatch):
    settings.NOTIFICATIONS_REGISTRY_TIMEOUT_SECONDS = 0.2
    release = threading.Event()
    original = register.answer

    def hang(path: str, body: Any) -> Any:
        release.wait(5)
        return original(path, body)

    monkeypatch.setattr(register, "answer", hang)
    order = organization_order()

    try:
        result = order_process(order_id=order.id)
    finally:
        release.set()

    assert result.status == OrderStatus.PROCESSING
    assert "registry is unavailable" in result.processing_note


def test_self_identified_users_from_the_http_registry_get_sms_and_an_unknown_one_is_not_identified(register):
    order = OrderFactory(
        requested_send_time=timezone.now(),
        notification_channel=NotificationChannel.SMS,
        sms_template=SmsTemplateFactory(body="Hei $recipientName$"),
    )
    Recipient.objects.create(
        order=order, position=0, external_identity="urn:altinn:person:legacy-selfidentified:ola"
    )
    Recipient.objects.create(
        order=order, position=1, external_identity="urn:altinn:person:legacy-selfidentified:nobody"
    )

    order_process(order_id=order.id)

    rows = sorted(
        SmsNotification.objects.filter(order=order).values_list(
            "recipient_position", "mobile_number", "status"
        )
    )
    assert rows == [(0, "+4799999993", "New"), (1, "", "Failed_RecipientNotIdentified")]
    assert [path for path, _ in register.requests] == [EXTERNAL_IDENTITIES_PATH]
    # No name to put in: the keyword stays as written, as for any recipient without NIN or orgno.
    assert SmsNotification.objects.get(order=order, recipient_position=0).body is None
