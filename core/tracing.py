"""Distributed tracing with OpenTelemetry: one trace from an API request to the provider call and the status
callback.

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set: then :func:`setup_tracing` (called by the web entry points
and in each Celery worker process) creates a tracer provider that exports over OTLP/HTTP and instruments
Django (a span per request, continuing a caller's W3C ``traceparent``), Celery (the context travels in the
task headers, so each task continues the trace that enqueued it), psycopg (a span per query) and httpx (a
span per outbound request). When off, none of the instrumentation is imported or installed and
:func:`span` costs nothing.

The provider is kept here rather than made OpenTelemetry's global one: the instrumentors are handed it
directly, so :func:`shutdown_tracing` can undo everything (the tests switch tracing on and off in one
process; a global provider can be set only once).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from django.conf import settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

logger = logging.getLogger(__name__)

AttributeValue = str | int | float | bool

_provider: TracerProvider | None = None
_instrumentors: list[Any] = []


def tracing_enabled() -> bool:
    return _provider is not None


def setup_tracing(exporter: SpanExporter | None = None) -> bool:
    """Switch tracing on if it is configured (or ``exporter`` is given); returns whether it is on.

    Idempotent. Call it in the process that handles the requests or runs the tasks: under Celery's prefork
    pool that is each child (``worker_process_init``), since the exporter's thread does not survive a fork.
    Django's instrumentation adds a middleware, so the web entry points call this before the WSGI handler
    loads its middleware.
    """
    global _provider
    if _provider is not None:
        return True
    endpoint = settings.OTEL_EXPORTER_OTLP_ENDPOINT
    if exporter is None and not endpoint:
        return False

    # Imported only when on: a service without tracing does not load the SDK or the instrumentation.
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: settings.OTEL_SERVICE_NAME}))
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (adding /v1/traces) and the other
        # OTEL_EXPORTER_OTLP_* variables itself. Spans go out in batches from a thread, off any request.
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        # A test's in-memory exporter: each span is there as soon as it ends.
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentors: list[Any] = [
        DjangoInstrumentor(),
        CeleryInstrumentor(),  # type: ignore[no-untyped-call]
        PsycopgInstrumentor(),
        HTTPXClientInstrumentor(),
    ]
    for instrumentor in instrumentors:
        instrumentor.instrument(tracer_provider=provider)
    _provider = provider
    _instrumentors[:] = instrumentors
    logger.info("tracing on: service %s", settings.OTEL_SERVICE_NAME)
    return True


def shutdown_tracing() -> None:
    """Remove the instrumentation and flush and close the provider (tests; a process that exits)."""
    global _provider
    for instrumentor in reversed(_instrumentors):
        instrumentor.uninstrument()
    _instrumentors.clear()
    if _provider is not None:
        _provider.shutdown()
    _provider = None


def span(name: str, attributes: Mapping[str, AttributeValue]) -> AbstractContextManager[object]:
    """A span around a block of our own work (the current span's child); nothing at all when tracing is off.

    Attributes name what was done (channel, provider, counts), never personal data.
    """
    if _provider is None:
        return nullcontext()
    return _span(_provider, name, attributes)


@contextmanager
def _span(provider: TracerProvider, name: str, attributes: Mapping[str, AttributeValue]) -> Iterator[object]:
    with provider.get_tracer(__name__).start_as_current_span(name, attributes=dict(attributes)) as current:
        yield current
