"""``GET /metrics``: Prometheus metrics, for a bearer token (``NOTIFICATIONS_METRICS_TOKEN``) or staff.

Everything comes from PostgreSQL, so one scrape of any web process sees every worker on every host:

* counters and histograms the senders keep in ``MetricCounter`` (``dispatch.services.metric_counters``):
  messages accepted, provider errors by kind, send latency and provider call time, callback attempts;
* gauges read at scrape time, cached for ``NOTIFICATIONS_METRICS_CACHE_SECONDS``: notifications of the
  last 24 hours by channel and status (index-only scans of ``<channel>_created``, which includes the
  status), the backlog (each count served by a partial index), and each SMS provider's health.
"""

from __future__ import annotations

import hmac
import logging
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from core.problems import problem_json
from dispatch.models import CallbackDelivery, MetricCounter, ProviderHealth, ProviderState
from dispatch.services import metric_counters as names
from dispatch.services.failover import health_key, sms_providers
from dispatch.services.window import send_window
from orders.models import EmailNotification, Order, SendingTimePolicy, SmsNotification

logger = logging.getLogger(__name__)

CACHE_KEY = "metrics-gauges-v1"

# The stored counter families: (name, type, help). Histograms are stored as their _bucket, _count and
# _sum samples; counters under their exposed ``_total`` name.
FAMILIES = (
    (names.SENT, "Notifications the provider accepted.", None),
    (names.PROVIDER_ERRORS, "Provider attempts that failed, by outcome.", None),
    (
        names.SEND_LATENCY,
        "Seconds from the order's send time (or its registration, when later) to the provider's acceptance.",
        names.LATENCY_BUCKETS,
    ),
    (names.PROVIDER_CALL, "Seconds one provider call took.", names.CALL_BUCKETS),
    (names.CALLBACKS, "Status callback attempts, by result.", None),
)


def _family_of(sample: str) -> str:
    for suffix in ("_bucket", "_count", "_sum"):
        if sample.endswith(suffix):
            return sample.removesuffix(suffix)
    return sample


def _parse_labels(text: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in text.split(",") if pair)


def _gauges() -> dict[str, list[tuple[dict[str, str], float]]]:
    """The values read from PostgreSQL at scrape time: 6 queries however large the tables are."""
    now = timezone.now()
    result: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
    since = now - timedelta(hours=24)
    for channel, model in (("Email", EmailNotification), ("Sms", SmsNotification)):
        rows = (
            model.objects.filter(created_at__gte=since)
            .values_list("status")
            .annotate(n=Count("*"))
            .order_by()
        )
        for status, n in rows:
            result["notifications_last_24h"].append(({"channel": channel, "status": status}, n))
    email, sms = EmailNotification._meta.db_table, SmsNotification._meta.db_table
    orders, callbacks = Order._meta.db_table, CallbackDelivery._meta.db_table
    # One round trip; each count matches a partial index predicate, so none reads the delivered millions.
    sql = f"""
        SELECT
            (SELECT count(*) FROM {email} WHERE status = 'New'),
            (SELECT count(*) FROM {email} WHERE status = 'Sending'),
            (SELECT count(*) FROM {sms} WHERE status = 'New'),
            (SELECT count(*) FROM {sms} WHERE status = 'Sending'),
            (SELECT count(*) FROM {sms} WHERE status = 'New' AND sending_time_policy = %s),
            (SELECT count(*) FROM {orders} WHERE status = 'Registered' AND requested_send_time <= %s),
            (SELECT count(*) FROM {orders} WHERE status = 'Processing'),
            (SELECT count(*) FROM {callbacks} WHERE state = 'pending')
    """  # noqa: S608 (table names come from model metadata, values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, [SendingTimePolicy.DAYTIME.value, now])
        email_new, email_sending, sms_new, sms_sending, daytime, due, processing, pending = cursor.fetchone()
    window = send_window()
    waiting = 0 if window is None or window.contains(now) else daytime
    for channel, state, value in (
        ("Email", "new", email_new),
        ("Email", "sending", email_sending),
        ("Sms", "new", sms_new),
        ("Sms", "sending", sms_sending),
        ("Sms", "waiting_for_window", waiting),
    ):
        result["notifications_backlog"].append(({"channel": channel, "state": state}, value))
    result["orders_backlog"] += [({"status": "due"}, due), ({"status": "processing"}, processing)]
    result["notifications_callbacks_pending"].append(({}, pending))
    providers = [name for name, _ in sms_providers()]
    states = dict(
        ProviderHealth.objects.filter(key__in=[health_key(n) for n in providers]).values_list("key", "state")
    )
    for name in providers:
        current = states.get(health_key(name), ProviderState.HEALTHY)
        for state in ProviderState:
            labels = {"provider": name, "state": str(state)}
            result["notifications_sms_provider_state"].append((labels, 1.0 if current == state else 0.0))
    return dict(result)


GAUGE_HELP = {
    "notifications_last_24h": "Notifications created in the last 24 hours, by channel and current status.",
    "notifications_backlog": "Notifications waiting: New, Sending, and Daytime SMS waiting for the window.",
    "orders_backlog": "Orders due for processing (Registered, send time passed) and being processed.",
    "notifications_callbacks_pending": "Status callbacks waiting to be delivered (or retried).",
    "notifications_sms_provider_state": "Health of each SMS provider (1 for its current state).",
}


def _cached_gauges() -> dict[str, list[tuple[dict[str, str], float]]]:
    seconds = settings.NOTIFICATIONS_METRICS_CACHE_SECONDS
    if seconds <= 0:
        return _gauges()
    try:
        cached: dict[str, list[tuple[dict[str, str], float]]] | None = cache.get(CACHE_KEY)
    except Exception:  # a cache outage costs a few queries per scrape, not the metrics
        logger.warning("metrics: cache unavailable", exc_info=True)
        return _gauges()
    if cached is None:
        cached = _gauges()
        try:
            cache.set(CACHE_KEY, cached, seconds)
        except Exception:
            logger.warning("metrics: cache unavailable", exc_info=True)
    return cached


class DatabaseCollector(Collector):
    """Yields the stored counters and the scrape-time gauges."""

    def collect(self) -> Iterator[Metric]:
        by_family: dict[str, list[tuple[str, dict[str, str], float]]] = defaultdict(list)
        for name, text, value in MetricCounter.objects.values_list("name", "labels", "value"):
            by_family[_family_of(name)].append((name, _parse_labels(text), value))
        for family, documentation, buckets in FAMILIES:
            rows = by_family.get(family, [])
            if buckets is None:
                metric = Metric(family.removesuffix("_total"), documentation, "counter")
                for sample, labels, value in sorted(rows, key=lambda row: sorted(row[1].items())):
                    metric.add_sample(sample, labels, value)
            else:
                metric = _histogram(family, documentation, buckets, rows)
            yield metric
        for gauge, samples in _cached_gauges().items():
            keys = sorted({key for labels, _ in samples for key in labels})
            metric = GaugeMetricFamily(gauge, GAUGE_HELP.get(gauge, gauge), labels=keys)
            for labels, value in samples:
                metric.add_metric([labels[key] for key in keys], value)
            yield metric


def _histogram(
    family: str, documentation: str, bounds: Sequence[float], rows: list[tuple[str, dict[str, str], float]]
) -> Metric:
    """A histogram from per-bucket rows: cumulative buckets for every bound, +Inf, _count and _sum."""
    per_bucket: dict[tuple[tuple[str, str], ...], dict[str, float]] = defaultdict(dict)
    sums: dict[tuple[tuple[str, str], ...], float] = defaultdict(float)
    for sample, labels, value in rows:
        series = tuple(sorted((key, item) for key, item in labels.items() if key != "le"))
        if sample.endswith("_bucket"):
            per_bucket[series][labels["le"]] = value
        elif sample.endswith("_sum"):
            sums[series] += value
    metric = Metric(family, documentation, "histogram")
    for series in sorted(set(per_bucket) | set(sums)):
        labels = dict(series)
        total = 0.0
        for bound in [*(repr(b) for b in bounds), "+Inf"]:
            total += per_bucket[series].get(bound, 0.0)
            metric.add_sample(f"{family}_bucket", {**labels, "le": bound}, total)
        metric.add_sample(f"{family}_count", labels, total)
        metric.add_sample(f"{family}_sum", labels, sums[series])
    return metric


def _authorised(request: HttpRequest) -> tuple[bool, int]:
    """(allowed, status to answer otherwise): a matching bearer token, or a logged-in staff user."""
    token = settings.NOTIFICATIONS_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer ") and token:
        return hmac.compare_digest(header.removeprefix("Bearer ").strip(), token), 401
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return bool(user.is_staff and user.is_active), 403
    return False, 401


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """The Prometheus text exposition of the service's metrics."""
    allowed, status = _authorised(request)
    if not allowed:
        title = "Unauthorized" if status == 401 else "Forbidden"
        challenge = {"WWW-Authenticate": 'Bearer realm="metrics"'} if status == 401 else None
        return problem_json(status, title, headers=challenge)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
