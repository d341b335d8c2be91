"""Send conditions against a real condition endpoint served on 127.0.0.1 from a thread."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from dispatch.services.conditions import ConditionOutcome, condition_check
from dispatch.services.processing import order_process, orders_process_due
from notifications_project.celery import app as celery_app
from orders.models import Order, OrderStatus, Recipient, SmsNotification
from tests.factories import OrderFactory

# What the endpoint does for one request: (status, body) or a callable that answers itself.
Answer = tuple[int, bytes] | Callable[[BaseHTTPRequestHandler], None]


class ConditionEndpoint:
    def __init__(self, url: str) -> None:
        self.url = url
        self.answers: list[Answer] = []
        self.requests: list[dict[str, str]] = []
        self.release = threading.Event()

    def answer(self, *answers: Answer) -> None:
        self.answers.extend(answers)


def _handler(endpoint: ConditionEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            endpoint.requests.append(dict(self.headers))
            answer = endpoint.answers.pop(0) if endpoint.answers else (200, b'{"sendNotification": true}')
            if callable(answer):
                answer(self)
                return
            status, body = answer
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def endpoint() -> Iterator[ConditionEndpoint]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.daemon_threads = True
    # A client that timed out has gone when the handler answers; that broken pipe is expected.
    server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    fake = ConditionEndpoint(f"http://127.0.0.1:{server.server_address[1]}/condition?order=1")
    server.RequestHandlerClass = _handler(fake)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield fake
    fake.release.set()
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch) -> None:
    monkeypatch.setattr(celery_app, "send_task", lambda *args, **kwargs: None)


def conditional_order(url: str) -> Order:
    order = OrderFactory(requested_send_time=timezone.now(), condition_endpoint=url)
    Recipient.objects.create(order=order, position=0, mobile_number="+4799999999")
    return order


# --- reading the answer --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (200, b'{"sendNotification": true}', ConditionOutcome.MET),
        (200, b'{"sendNotification": false}', ConditionOutcome.NOT_MET),
        (202, b'{"sendNotification": false, "other": 1}', ConditionOutcome.NOT_MET),
        (200, b'{"SendNotification": true}', ConditionOutcome.ERROR),  # case-sensitive name
        (200, b'{"sendNotification": "true"}', ConditionOutcome.ERROR),  # must be a boolean
        (200, b"[true]", ConditionOutcome.ERROR),
        (200, b"", ConditionOutcome.ERROR),
        (200, b"yes", ConditionOutcome.ERROR),
        (500, b'{"sendNotification": true}', ConditionOutcome.ERROR),
        (404, b"", ConditionOutcome.ERROR),
    ],
)
def test_condition_check_reads_a_boolean_send_notification_from_a_2xx_json_body(
    endpoint, status, body, outcome
):
    endpoint.answer((status, body))

    assert condition_check(url=endpoint.url).outcome is outcome


def test_condition_check_times_out_quickly(endpoint, settings):
    settings.NOTIFICATIONS_OUTBOUND_TIMEOUT_SECONDS = 0.2
    endpoint.answer(lambda handler: endpoint.release.wait(5))

    check = condition_check(url=endpoint.url)

    assert check.outcome is ConditionOutcome.ERROR
    assert "Timeout" in check.detail


def test_condition_check_to_a_refused_address_is_a_permanent_error(endpoint, settings):
    settings.NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS = []

    check = condition_check(url=endpoint.url)

    assert (check.outcome, check.permanent) == (ConditionOutcome.ERROR, True)
    assert endpoint.requests == []


# --- what the order does -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_condition_met_lets_the_order_go_on(endpoint):
    endpoint.answer((200, b'{"sendNotification": true}'))
    order = conditional_order(endpoint.url)

    result = order_process(order_id=order.id)

    assert result.status == OrderStatus.PROCESSED
    assert result.processing_note == ""
    assert len(endpoint.requests) == 1
    assert SmsNotification.objects.filter(order=order).count() == 1


@pytest.mark.django_db
def test_condition_not_met_ends_the_order_without_notifications(endpoint):
    endpoint.answer((200, b'{"sendNotification": false}'))
    order = conditional_order(endpoint.url)

    result = order_process(order_id=order.id)

    assert result.status == OrderStatus.SEND_CONDITION_NOT_MET
    assert result.next_attempt_at is None
    assert not SmsNotification.objects.filter(order=order).exists()
    # Final: a late or duplicate message does not ask again or change anything.
    assert order_process(order_id=order.id).status == OrderStatus.SEND_CONDITION_NOT_MET
    assert len(endpoint.requests) == 1


@pytest.mark.django_db
def test_failed_check_is_retried_after_the_delay_then_sent_anyway_with_the_reason(
    endpoint, settings, time_machine
):
    time_machine.move_to(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), tick=False)
    settings.NOTIFICATIONS_CONDITION_RETRY_DELAY = timedelta(seconds=60)
    settings.NOTIFICATIONS_CONDITION_MAX_CHECKS = 2
    endpoint.answer((503, b""), (500, b"oops"))
    order = conditional_order(endpoint.url)

    first = order_process(order_id=order.id)

    assert first.status == OrderStatus.PROCESSING
    assert first.condition_checks_failed == 1
    assert first.next_attempt_at == timezone.now() + timedelta(seconds=60)
    assert "HTTP 503" in first.processing_note
    assert not SmsNotification.objects.filter(order=order).exists()

    time_machine.shift(timedelta(seconds=59))
    assert orders_process_due() == 0  # not before the delay
    assert len(endpoint.requests) == 1

    time_machine.shift(timedelta(seconds=1))
    assert orders_process_due() == 1

    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSED
    assert order.condition_checks_failed == 2
    assert "failed 2 time(s)" in order.processing_note
    assert "sent anyway" in order.processing_note
    assert SmsNotification.objects.filter(order=order).count() == 1


@pytest.mark.django_db
def test_a_retry_that_succeeds_follows_the_new_answer(endpoint, time_machine, settings):
    time_machine.move_to(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), tick=False)
    endpoint.answer((500, b""), (200, b'{"sendNotification": false}'))
    order = conditional_order(endpoint.url)
    order_process(order_id=order.id)

    time_machine.shift(settings.NOTIFICATIONS_CONDITION_RETRY_DELAY)
    orders_process_due()

    order.refresh_from_db()
    assert order.status == OrderStatus.SEND_CONDITION_NOT_MET


@pytest.mark.django_db
def test_max_checks_of_one_sends_after_the_first_failure(endpoint, settings):
    settings.NOTIFICATIONS_CONDITION_MAX_CHECKS = 1
    endpoint.answer((500, b""))
    order = conditional_order(endpoint.url)

    result = order_process(order_id=order.id)

    assert result.status == OrderStatus.PROCESSED
    assert "failed 1 time(s)" in result.processing_note


@pytest.mark.django_db
def test_refused_condition_endpoint_is_not_retried(endpoint, settings):
    settings.NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS = []
    order = conditional_order(endpoint.url)

    result = order_process(order_id=order.id)

    assert result.status == OrderStatus.PROCESSED
    assert "not allowed" in result.processing_note


@pytest.mark.django_db(transaction=True)
def test_the_endpoint_is_called_with_no_transaction_open_and_the_order_unlocked(endpoint):
    order = conditional_order(endpoint.url)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        worker_pid = cursor.fetchone()[0]
    seen: dict[str, Any] = {}

    def inspect(handler: BaseHTTPRequestHandler) -> None:
        # Another connection, while the worker waits for us: the claim is committed, the row is free and
        # the worker's connection is idle, not idle in a transaction.
        try:
            with transaction.atomic():
                locked = Order.objects.select_for_update(nowait=True).get(id=order.id)
                seen["status"] = locked.status
            with connection.cursor() as cursor:
                cursor.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", [worker_pid])
                seen["worker"] = cursor.fetchone()[0]
        finally:
            connection.close()
        body = b'{"sendNotification": true}'
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    endpoint.answer(inspect)

    result = order_process(order_id=order.id)

    assert seen == {"status": OrderStatus.PROCESSING, "worker": "idle"}
    assert result.status == OrderStatus.PROCESSED
