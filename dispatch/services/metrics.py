"""Counters and histograms for ``/metrics``, kept in PostgreSQL (``MetricCounter``).

Workers on any host add to the same rows, so the web process can expose what all of them did without a
shared directory, and a restart resets nothing. A sender adds once per recorded chunk (one statement);
a lost increment costs a metric, never a notification, so failures are logged and swallowed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.db import connection, transaction

from dispatch.models import AttemptOutcome, MetricCounter

logger = logging.getLogger(__name__)

# From the order's send time (or its POST, when later) to the provider's acceptance: minutes to a day,
# since Daytime SMS wait for the window and retries back off.
LATENCY_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0)
# One provider call (submit_sm and its answer, one HTTP request, one SMTP transaction).
CALL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

SENT = "notifications_sent_total"
PROVIDER_ERRORS = "notifications_provider_errors_total"
SEND_LATENCY = "notifications_send_latency_seconds"
PROVIDER_CALL = "notifications_provider_call_seconds"
CALLBACKS = "notifications_callbacks_total"

Increments = Mapping[tuple[str, str], float]


def labels_text(**labels: str) -> str:
    """Labels in the stored form: sorted ``key=value`` pairs joined by commas (values have neither)."""
    return ",".join(f"{key}={labels[key]}" for key in sorted(labels))


def counters_add(increments: Increments) -> None:
    """Add to counters, creating them at zero; one statement, rows in key order (no deadlocks)."""
    # Zeros too: a counter (or a histogram's _sum) should exist from its first observation on.
    rows = sorted((name, labels, value) for (name, labels), value in increments.items())
    if not rows:
        return
    table = MetricCounter._meta.db_table
    values = ", ".join(["(%s, %s, %s)"] * len(rows))
    sql = f"""
        INSERT INTO {table} (name, labels, value) VALUES {values}
        ON CONFLICT (name, labels) DO UPDATE SET value = {table}.value + EXCLUDED.value
    """  # noqa: S608 (the table name comes from model metadata, values are parameters)
    try:
        # Its own (sub)transaction: a failure here must not poison a caller's transaction.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [item for row in rows for item in row])
    except Exception:
        logger.warning("could not update %d metric counter(s)", len(rows), exc_info=True)


def _observe(
    increments: dict[tuple[str, str], float], name: str, buckets: Iterable[float], value: float, **labels: str
) -> None:
    for bound in buckets:
        if value <= bound:
            increments[(f"{name}_bucket", labels_text(**labels, le=repr(bound)))] += 1
    increments[(f"{name}_bucket", labels_text(**labels, le="+Inf"))] += 1
    increments[(f"{name}_count", labels_text(**labels))] += 1
    increments[(f"{name}_sum", labels_text(**labels))] += value


@dataclass(frozen=True)
class SendObservation:
    outcome: str  # an AttemptOutcome
    duration: float  # seconds the provider took to answer
    latency: float | None = None  # seconds from due to accepted, for accepted messages


def sends_record(*, channel: str, provider: str, observations: Iterable[SendObservation]) -> None:
    """Count one recorded chunk of send outcomes: accepted, errors by kind, latency and call time."""
    increments: dict[tuple[str, str], float] = defaultdict(float)
    for item in observations:
        if item.outcome == AttemptOutcome.ACCEPTED:
            increments[(SENT, labels_text(channel=channel, provider=provider))] += 1
            if item.latency is not None:
                _observe(
                    increments,
                    SEND_LATENCY,
                    LATENCY_BUCKETS,
                    max(0.0, item.latency),
                    channel=channel,
                    provider=provider,
                )
        else:
            key = labels_text(channel=channel, provider=provider, outcome=str(item.outcome))
            increments[(PROVIDER_ERRORS, key)] += 1
        if item.outcome != AttemptOutcome.UNAVAILABLE:
            _observe(
                increments, PROVIDER_CALL, CALL_BUCKETS, item.duration, channel=channel, provider=provider
            )
    counters_add(increments)


def callbacks_record(*, delivered: int, retried: int, failed: int) -> None:
    """Count callback attempts by result."""
    counters_add(
        {
            (CALLBACKS, labels_text(result="delivered")): delivered,
            (CALLBACKS, labels_text(result="retried")): retried,
            (CALLBACKS, labels_text(result="failed")): failed,
        }
    )
