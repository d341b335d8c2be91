"""Counters and histograms for ``/metrics``, kept in PostgreSQL (``MetricCounter``).

Workers on any host add to the same rows, so the web process can expose what all of them did without a
shared directory, and a restart resets nothing. A sender adds once per batch (one statement); a lost
increment costs a metric, never a notification, so failures are logged and swallowed.
"""

from __future__ import annotations

import bisect
import functools
import logging
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
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
    return _labels_text(tuple(sorted(labels.items())))


@functools.lru_cache(maxsize=4096)
def _labels_text(pairs: tuple[tuple[str, str], ...]) -> str:
    # Cached: a batch asks for the same few label sets hundreds of times.
    return ",".join(f"{key}={value}" for key, value in pairs)


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


@functools.lru_cache(maxsize=4096)
def _key(name: str, channel: str, provider: str, label: str = "", value: str = "") -> tuple[str, str]:
    labels = {"channel": channel, "provider": provider, **({label: value} if label else {})}
    return name, labels_text(**labels)


def _observe(
    increments: dict[tuple[str, str], float],
    name: str,
    buckets: Sequence[float],
    value: float,
    channel: str,
    provider: str,
) -> None:
    # Stored per bucket, not cumulatively: one row per observation instead of one per bound. The
    # collector adds them up (and derives _count) when it exposes them.
    index = bisect.bisect_left(buckets, value)
    bound = repr(buckets[index]) if index < len(buckets) else "+Inf"
    increments[_key(f"{name}_bucket", channel, provider, "le", bound)] += 1
    increments[_key(f"{name}_sum", channel, provider)] += value


@dataclass(frozen=True)
class SendObservation:
    outcome: str  # an AttemptOutcome
    duration: float  # seconds the provider took to answer
    latency: float | None = None  # seconds from due to accepted, for accepted messages


# Send outcomes are added up in the process and written once per batch (``counters_flush``), not per
# recorded chunk: one statement per 500 messages keeps the bookkeeping off the send rate.
_pending: dict[tuple[str, str], float] = defaultdict(float)
_pending_lock = threading.Lock()


def sends_record(*, channel: str, provider: str, observations: Iterable[SendObservation]) -> None:
    """Count send outcomes (accepted, errors by kind, latency, call time) until the next flush."""
    with _pending_lock:
        for item in observations:
            if item.outcome == AttemptOutcome.ACCEPTED:
                _pending[_key(SENT, channel, provider)] += 1
                if item.latency is not None:
                    latency = max(0.0, item.latency)
                    _observe(_pending, SEND_LATENCY, LATENCY_BUCKETS, latency, channel, provider)
            else:
                _pending[_key(PROVIDER_ERRORS, channel, provider, "outcome", str(item.outcome))] += 1
            if item.outcome != AttemptOutcome.UNAVAILABLE:
                _observe(_pending, PROVIDER_CALL, CALL_BUCKETS, item.duration, channel, provider)


def counters_flush() -> None:
    """Write the counts ``sends_record`` collected (the sender calls it after every batch)."""
    with _pending_lock:
        increments = dict(_pending)
        _pending.clear()
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
