"""SMS provider failover: a weighted choice per batch among healthy providers, health judged from attempts.

``NOTIFICATIONS_SMS_PROVIDERS`` lists providers with weights (``smpp:3,twilio:1``: three batches in four go
to SMPP). Each batch the sender asks :func:`sms_provider_choose`, which leaves out paused providers (the
sender's own throttling and outage pauses) and providers whose health is ``down``.

Health lives in PostgreSQL (:class:`ProviderHealth`), so every worker acts on one judgement.
:func:`sms_providers_health_evaluate` (a beat sweep) reads the attempt log, the same ``DeliveryAttempt``
rows the admin shows, over the last ``NOTIFICATIONS_SMS_FAILOVER_WINDOW_SECONDS``:

1. ``healthy`` → ``down`` when, with at least ``MIN_ATTEMPTS`` attempts, the share of transient and
   connection failures reaches ``ERROR_RATE`` or the 90th percentile of the answer time reaches
   ``LATENCY_MS``. Refusals of one message (invalid number) are the message's fault and do not count.
2. ``down`` → ``probing`` after ``COOLDOWN_SECONDS`` (half-open): ``PROBE_SHARE`` of the batches, of
   ``PROBE_BATCH`` messages each, go to it.
3. ``probing`` → ``healthy`` after ``PROBE_ATTEMPTS`` attempts within the thresholds, or back to ``down``.

Every switch is a :class:`ProviderHealthEvent` row and a log line. When no provider is healthy, batches
go to all by their weights: sending on, with the usual retries, beats stopping.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from dispatch.models import (
    AttemptOutcome,
    Channel,
    DeliveryAttempt,
    ProviderHealth,
    ProviderHealthEvent,
    ProviderPause,
    ProviderState,
)

logger = logging.getLogger(__name__)

# Failures that say something about the provider (not about one message, and not a dead worker).
ERROR_OUTCOMES = (AttemptOutcome.TRANSIENT, AttemptOutcome.UNAVAILABLE)


@dataclass(frozen=True)
class ProviderChoice:
    name: str
    limit: int  # notifications to claim for this batch (small while probing)


@dataclass(frozen=True)
class WindowStats:
    attempts: int
    errors: int
    latency_ms: int | None  # 90th percentile of the answer time

    @property
    def error_rate(self) -> float:
        return self.errors / self.attempts if self.attempts else 0.0

    def problem(self) -> str:
        """Why these numbers are bad, or "" when they are within the thresholds."""
        if self.attempts and self.error_rate >= settings.NOTIFICATIONS_SMS_FAILOVER_ERROR_RATE:
            return f"{self.errors} of {self.attempts} attempts failed"
        limit = settings.NOTIFICATIONS_SMS_FAILOVER_LATENCY_MS
        if self.latency_ms is not None and self.latency_ms >= limit:
            return f"90% of answers took up to {self.latency_ms} ms (limit {limit} ms)"
        return ""


def sms_providers() -> list[tuple[str, int]]:
    """The configured SMS providers and their weights."""
    configured = settings.NOTIFICATIONS_SMS_PROVIDERS
    return list(configured) if configured else [(settings.NOTIFICATIONS_SMS_PROVIDER, 1)]


def health_key(name: str) -> str:
    # The provider's pause key too (Provider.pause_key), so one key names it everywhere.
    return f"{Channel.SMS}:{name}"


def _weighted(providers: list[tuple[str, int]], rng: random.Random | None) -> str:
    pick = rng or random
    weights = [weight for _, weight in providers]
    if not any(weights):
        # Only standby providers (weight 0) are left: they share the load evenly.
        return pick.choice(providers)[0]
    return pick.choices([name for name, _ in providers], weights=weights)[0]


def sms_provider_choose(
    *, now: datetime | None = None, rng: random.Random | None = None
) -> ProviderChoice | None:
    """The provider for the next SMS batch, and how many to claim; None when every provider is paused."""
    providers = sms_providers()
    batch = settings.NOTIFICATIONS_SEND_BATCH_SIZE
    if len(providers) == 1:
        return ProviderChoice(providers[0][0], batch)
    now = now or timezone.now()
    keys = [health_key(name) for name, _ in providers]
    states = dict(ProviderHealth.objects.filter(key__in=keys).values_list("key", "state"))
    paused = set(
        ProviderPause.objects.filter(key__in=keys, paused_until__gt=now).values_list("key", flat=True)
    )
    available = [(name, weight) for name, weight in providers if health_key(name) not in paused]
    if not available:
        return None

    def in_state(state: str) -> list[tuple[str, int]]:
        return [p for p in available if states.get(health_key(p[0]), ProviderState.HEALTHY) == state]

    healthy, probing = in_state(ProviderState.HEALTHY), in_state(ProviderState.PROBING)
    if probing and (
        not healthy or (rng or random).random() < settings.NOTIFICATIONS_SMS_FAILOVER_PROBE_SHARE
    ):
        return ProviderChoice(
            _weighted(probing, rng), min(batch, settings.NOTIFICATIONS_SMS_FAILOVER_PROBE_BATCH)
        )
    return ProviderChoice(_weighted(healthy or available, rng), batch)


def _window_stats(name: str, since: datetime) -> WindowStats:
    """Attempts, failures and the 90th percentile answer time of ``name`` since ``since`` (one query over
    the attempt log's started-at index)."""
    table = DeliveryAttempt._meta.db_table
    sql = f"""
        SELECT count(*),
               count(*) FILTER (WHERE outcome = ANY(%s)),
               percentile_cont(0.9) WITHIN GROUP (ORDER BY duration_ms)
                   FILTER (WHERE outcome <> %s)
          FROM {table}
         WHERE started_at >= %s AND channel = %s AND provider = %s
    """  # noqa: S608 (the table name comes from model metadata)
    params: list[Any] = [
        [str(outcome) for outcome in ERROR_OUTCOMES],
        str(AttemptOutcome.UNAVAILABLE),
        since,
        str(Channel.SMS),
        name,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        attempts, errors, p90 = cursor.fetchone()
    return WindowStats(attempts=attempts, errors=errors, latency_ms=None if p90 is None else round(p90))


def _switch(
    health: ProviderHealth, to: str, reason: str, stats: WindowStats | None, now: datetime
) -> ProviderHealthEvent:
    event = ProviderHealthEvent.objects.create(
        created_at=now,
        key=health.key,
        from_state=health.state,
        to_state=to,
        reason=reason,
        attempts=stats.attempts if stats else 0,
        errors=stats.errors if stats else 0,
        latency_ms=stats.latency_ms if stats else None,
    )
    ProviderHealth.objects.filter(key=health.key).update(state=to, changed_at=now, reason=reason)
    log = logger.warning if to == ProviderState.DOWN else logger.info
    log(
        "SMS provider %s: %s -> %s (%s)", health.key, health.state, to, reason, extra={"provider": health.key}
    )
    return event


def _judge(health: ProviderHealth, name: str, now: datetime) -> ProviderHealthEvent | None:
    window_start = now - timedelta(seconds=settings.NOTIFICATIONS_SMS_FAILOVER_WINDOW_SECONDS)
    if health.state == ProviderState.HEALTHY:
        stats = _window_stats(name, window_start)
        problem = (
            stats.problem() if stats.attempts >= settings.NOTIFICATIONS_SMS_FAILOVER_MIN_ATTEMPTS else ""
        )
        return _switch(health, ProviderState.DOWN, problem, stats, now) if problem else None
    if health.state == ProviderState.DOWN:
        cooldown = timedelta(seconds=settings.NOTIFICATIONS_SMS_FAILOVER_COOLDOWN_SECONDS)
        if now - health.changed_at < cooldown:
            return None
        return _switch(health, ProviderState.PROBING, "cooldown over: probing with a small share", None, now)
    # Probing: judged on what it did since probing began (and within the window).
    stats = _window_stats(name, max(health.changed_at, window_start))
    if stats.attempts < settings.NOTIFICATIONS_SMS_FAILOVER_PROBE_ATTEMPTS:
        return None
    problem = stats.problem()
    if problem:
        return _switch(health, ProviderState.DOWN, f"probe failed: {problem}", stats, now)
    return _switch(health, ProviderState.HEALTHY, "recovered: probe within the thresholds", stats, now)


def sms_providers_health_evaluate(*, now: datetime | None = None) -> list[ProviderHealthEvent]:
    """Judge every configured SMS provider and record each switch; a no-op with one provider."""
    providers = sms_providers()
    if len(providers) < 2:
        return []
    now = now or timezone.now()
    events = []
    for name, _ in providers:
        key = health_key(name)
        with transaction.atomic():
            ProviderHealth.objects.bulk_create(
                [ProviderHealth(key=key, state=ProviderState.HEALTHY, changed_at=now)], ignore_conflicts=True
            )
            # Row lock: two overlapping sweeps cannot both switch the same provider.
            health = ProviderHealth.objects.select_for_update().get(key=key)
            event = _judge(health, name, now)
        if event is not None:
            events.append(event)
    return events
