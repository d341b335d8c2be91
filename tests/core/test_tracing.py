"""Tracing: a caller's ``traceparent`` is continued from the API request through the Celery tasks to the
provider send and the status callback, log records carry the trace id, and with tracing off nothing is
instrumented.

The spans go to OpenTelemetry's in-memory exporter. Tasks run in this process as eager Celery runs them,
and ``transaction=True`` lets each ``on_commit`` enqueue happen where it does in production: at the commit
inside the request or task that wrote the rows.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from django.conf import settings as django_settings
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, format_trace_id

import dispatch.tasks  # noqa: F401 - registers the tasks that are enqueued by name
from core import tracing
from core.logfilters import TraceContextFilter, add_trace_context_to_handlers
from dispatch.services import callback_outbox
from dispatch.services.callback_secrets import callback_secret_get_or_create
from fakes.callback_receiver import CallbackReceiver
from fakes.smtp import SmtpFake
from fakes.twilio import TwilioFake
from notifications_project.celery import app as celery_app
from tests.dispatch.sending_support import fresh_providers, use_smtp_server

__all__ = ["fresh_providers"]
API = "/notifications/api/v1"
TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
TRACEPARENT = f"00-{format_trace_id(TRACE_ID)}-00f067aa0ba902b7-01"
MIDDLEWARE = "opentelemetry.instrumentation.django.middleware.otel_middleware._DjangoMiddleware"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on, exporting to memory; off again afterwards."""
    exporter = InMemorySpanExporter()
    assert tracing.setup_tracing(exporter) is True
    yield exporter
    tracing.shutdown_tracing()


@pytest.fixture
def tasks_run_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tasks enqueued by name run at once in this process, as a worker would run them."""

    def send_task(name: str, args: list[Any] | None = None, kwargs: dict[str, Any] | None = None, **_: Any):
        return celery_app.tasks[name].apply(args=args or [], kwargs=kwargs or {})

    monkeypatch.setattr(celery_app, "send_task", send_task)
    # The callback kick is rate limited per process: an earlier test's kick must not swallow this one's.
    monkeypatch.setattr(callback_outbox, "_last_kick", float("-inf"))


@pytest.fixture
def smtp(settings) -> Iterator[SmtpFake]:
    fake = SmtpFake().start()
    use_smtp_server(settings, fake.port)
    yield fake
    fake.stop()


@pytest.fixture
def twilio(settings) -> Iterator[TwilioFake]:
    fake = TwilioFake().start()
    settings.NOTIFICATIONS_SMS_PROVIDER = "twilio"
    settings.NOTIFICATIONS_TWILIO_ACCOUNT_SID = fake.account_sid
    settings.NOTIFICATIONS_TWILIO_AUTH_TOKEN = fake.auth_token
    settings.NOTIFICATIONS_TWILIO_API_BASE = fake.url
    yield fake
    fake.stop()


@pytest.fixture
def receiver(settings) -> Iterator[CallbackReceiver]:
    fake = CallbackReceiver(secrets=[callback_secret_get_or_create(creator="ttd").secret]).start()
    yield fake
    fake.stop()


def named(spans: list[ReadableSpan], name: str) -> list[ReadableSpan]:
    found = [span for span in spans if span.name == name]
    assert found, f"no span {name!r} among {sorted({span.name for span in spans})}"
    return found


def client_spans_to(spans: list[ReadableSpan], port: int) -> list[ReadableSpan]:
    found = [
        span
        for span in spans
        if span.kind == SpanKind.CLIENT
        # The URL's attribute is named by the HTTP semantic conventions in force (old or stable).
        and any(f":{port}/" in str((span.attributes or {}).get(key, "")) for key in ("http.url", "url.full"))
    ]
    assert found, f"no httpx span to port {port} among {sorted({span.name for span in spans})}"
    return found


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fresh_providers")
def test_one_trace_runs_from_the_request_through_the_tasks_to_the_smtp_send_and_the_status_callback(
    spans, tasks_run_inline, api_client, smtp, receiver
):
    body = {
        "subject": "Hei",
        "body": "Hallo",
        "recipients": [{"emailAddress": "recipient@domain.com"}],
        "statusCallbackUrl": receiver.url,
    }

    response = api_client.post(f"{API}/orders/email", body, format="json", HTTP_TRACEPARENT=TRACEPARENT)

    assert response.status_code == 202, response.content
    assert len(smtp.received) == 1
    # The notification's status, and the order's once complete when the same run sees it (timing).
    assert receiver.requests
    assert {request["answer"] for request in receiver.requests} == {200}
    finished = list(spans.get_finished_spans())
    [request] = [span for span in finished if span.kind == SpanKind.SERVER]
    chain = [
        request,
        *named(finished, "run/dispatch.order_process"),
        *named(finished, "run/dispatch.notifications_send"),
        *named(finished, "notifications.send_batch"),
        *named(finished, "run/dispatch.callbacks_deliver"),
        *client_spans_to(finished, receiver.port),
    ]
    assert {format_trace_id(span.context.trace_id) for span in chain} == {format_trace_id(TRACE_ID)}
    # The request continues the caller's span; the send span says what was sent, not to whom.
    assert request.parent is not None
    assert request.parent.span_id == 0x00F067AA0BA902B7
    [send] = named(finished, "notifications.send_batch")
    assert dict(send.attributes or {}) == {
        "notifications.channel": "Email",
        "notifications.provider": "smtp",
        "notifications.count": 1,
    }
    # The callback's POST carried the trace on to the receiver.
    assert all(
        format_trace_id(TRACE_ID) in request["headers"]["traceparent"] for request in receiver.requests
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fresh_providers")
def test_an_http_provider_call_is_a_span_of_the_requests_trace(spans, tasks_run_inline, api_client, twilio):
    body = {"body": "Hei", "recipients": [{"mobileNumber": "+4799999999"}]}

    response = api_client.post(f"{API}/orders/sms", body, format="json", HTTP_TRACEPARENT=TRACEPARENT)

    assert response.status_code == 202, response.content
    assert len(twilio.messages) == 1
    finished = list(spans.get_finished_spans())
    [send] = named(finished, "notifications.send_batch")
    [call] = client_spans_to(finished, twilio.port)
    assert call.context.trace_id == TRACE_ID
    assert call.parent is not None
    assert call.parent.span_id == send.context.span_id
    assert (send.attributes or {})["notifications.provider"] == "twilio"


@pytest.mark.django_db
def test_a_log_record_inside_a_request_span_carries_its_trace_id(spans, api_client, caplog):
    caplog.handler.addFilter(TraceContextFilter())
    with caplog.at_level(logging.INFO, logger="notifications.request"):
        api_client.get(f"{API}/orders/{'0' * 8}-0000-4000-8000-{'0' * 12}", HTTP_TRACEPARENT=TRACEPARENT)

    [line] = [record for record in caplog.records if record.name == "notifications.request"]
    [request] = [span for span in spans.get_finished_spans() if span.kind == SpanKind.SERVER]
    assert line.trace_id == format_trace_id(TRACE_ID)
    assert line.span_id == f"{request.context.span_id:016x}"


def test_a_log_record_outside_any_span_has_empty_trace_ids(spans):
    record = logging.LogRecord("test", logging.INFO, __file__, 1, "no span here", None, None)

    assert TraceContextFilter().filter(record) is True
    assert (record.trace_id, record.span_id) == ("", "")


def test_a_celery_worker_log_line_shows_the_trace_and_span_ids(spans):
    stream = io.StringIO()
    logger = logging.getLogger("tests.tracing.worker")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(django_settings.CELERY_WORKER_LOG_FORMAT))
    logger.addHandler(handler)
    try:
        add_trace_context_to_handlers(logger=logger)
        add_trace_context_to_handlers(logger=logger)  # idempotent: a worker may set up logging more than once
        with tracing.span("work", {}) as current:
            logger.warning("inside a span")
        logger.warning("outside")
    finally:
        logger.removeHandler(handler)

    assert [type(f) for f in handler.filters] == [TraceContextFilter]
    context = current.get_span_context()
    inside, outside = stream.getvalue().splitlines()
    assert inside.endswith(f"inside a span trace_id={context.trace_id:032x} span_id={context.span_id:016x}")
    assert outside.endswith("outside trace_id= span_id=")


def test_the_log_format_shows_the_trace_ids():
    [handler_config] = django_settings.LOGGING["handlers"].values()
    line_format = django_settings.LOGGING["formatters"][handler_config["formatter"]]["format"]

    assert "trace_context" in handler_config["filters"]
    assert "%(trace_id)s" in line_format
    assert "%(span_id)s" in line_format
    assert "%(trace_id)s" in django_settings.CELERY_WORKER_TASK_LOG_FORMAT


@pytest.mark.django_db
def test_with_tracing_off_nothing_is_instrumented(api_client, settings, caplog):
    settings.OTEL_EXPORTER_OTLP_ENDPOINT = ""
    from celery import signals

    assert tracing.setup_tracing() is False
    assert tracing.tracing_enabled() is False
    assert MIDDLEWARE not in django_settings.MIDDLEWARE
    assert not [receiver for receiver in signals.task_prerun.receivers if "opentelemetry" in repr(receiver)]
    assert not hasattr(httpx.HTTPTransport.handle_request, "__wrapped__")
    assert not hasattr(psycopg.connect, "__wrapped__")
    # The span helper is a no-op, and log records still get (empty) ids.
    with tracing.span("notifications.send_batch", {"notifications.count": 1}) as current:
        assert current is None
    caplog.handler.addFilter(TraceContextFilter())
    with caplog.at_level(logging.INFO, logger="notifications.request"):
        api_client.get(f"{API}/orders/{'0' * 8}-0000-4000-8000-{'0' * 12}", HTTP_TRACEPARENT=TRACEPARENT)
    [line] = [record for record in caplog.records if record.name == "notifications.request"]
    assert (line.trace_id, line.span_id) == ("", "")


def test_switching_tracing_on_installs_the_instrumentation_and_off_removes_it():
    from celery import signals

    tracing.setup_tracing(InMemorySpanExporter())
    try:
        assert MIDDLEWARE in django_settings.MIDDLEWARE
        assert [receiver for receiver in signals.task_prerun.receivers if "opentelemetry" in repr(receiver)]
        assert hasattr(httpx.HTTPTransport.handle_request, "__wrapped__")
        assert hasattr(psycopg.connect, "__wrapped__")
    finally:
        tracing.shutdown_tracing()
    assert MIDDLEWARE not in django_settings.MIDDLEWARE
    assert not [receiver for receiver in signals.task_prerun.receivers if "opentelemetry" in repr(receiver)]
