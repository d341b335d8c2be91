"""Delivery of status callbacks: claim due outbox rows, POST them signed, record every attempt.

1. Claim: one short transaction leases up to ``NOTIFICATIONS_CALLBACK_BATCH_SIZE`` due pending rows
   (``FOR UPDATE SKIP LOCKED``) and counts their attempt; it commits before any request is made.
2. POST: outside any transaction, ``NOTIFICATIONS_CALLBACK_CONCURRENCY`` at a time, through the outbound
   guard (the SSRF rules of condition endpoints), with the signature header of ``dispatch.callback_format``.
3. Record: one transaction stores the attempts and moves each row: 2xx → ``delivered``; anything else →
   due again after an exponential backoff with jitter (at least a ``Retry-After``), or ``failed`` once
   that would pass ``give_up_at``; an address the guard refuses → ``failed`` at once.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.outbound import GuardedClient, OutboundRequestError, guarded_request
from dispatch.backoff import jittered_backoff_delay
from dispatch.callback_format import EVENT_ID_HEADER, SIGNATURE_HEADER, body_bytes, signature_header
from dispatch.models import CallbackAttempt, CallbackDelivery, CallbackState
from dispatch.services.callback_secrets import callback_signing_secrets
from dispatch.services.metric_counters import callbacks_record
from dispatch.shutdown import stop_requested

logger = logging.getLogger(__name__)

ERROR_TEXT_LIMIT = 1000


@dataclass
class DeliverSummary:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0


@dataclass(frozen=True)
class _Result:
    delivery: CallbackDelivery
    started_at: datetime
    duration: float
    status_code: int | None = None
    error: str = ""
    response_body: str = ""
    blocked: bool = False
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _lease() -> timedelta:
    # Long enough for a whole batch at the configured concurrency, each POST taking its full timeout.
    rounds = settings.NOTIFICATIONS_CALLBACK_BATCH_SIZE / max(1, settings.NOTIFICATIONS_CALLBACK_CONCURRENCY)
    return timedelta(seconds=settings.NOTIFICATIONS_CALLBACK_TIMEOUT_SECONDS * (rounds + 1) + 30)


def callbacks_claim(*, limit: int, now: datetime | None = None) -> list[CallbackDelivery]:
    """Lease up to ``limit`` due pending callbacks to this worker (committed); counts their attempt."""
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            CallbackDelivery.objects.select_for_update(skip_locked=True)
            .filter(state=CallbackState.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .defer("last_error")[:limit]
        )
        if not rows:
            return []
        # While leased, next_attempt_at is the lease's end: a worker that dies leaves the row due again.
        CallbackDelivery.objects.filter(id__in=[row.id for row in rows]).update(
            next_attempt_at=now + _lease(), attempts=F("attempts") + 1
        )
    for row in rows:
        row.attempts += 1
    return rows


def _retry_after(response_headers: httpx.Headers) -> float | None:
    value = response_headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else None


def _post(client: GuardedClient, delivery: CallbackDelivery, signing: Sequence[str]) -> _Result:
    body = body_bytes(delivery.payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "notifications-callbacks/1",
        SIGNATURE_HEADER: signature_header(signing, body),
        EVENT_ID_HEADER: str(delivery.event_id),
    }
    started, clock = timezone.now(), time.monotonic()
    try:
        response = guarded_request(
            "POST",
            delivery.url,
            client=client,
            timeout=settings.NOTIFICATIONS_CALLBACK_TIMEOUT_SECONDS,
            content=body,
            headers=headers,
        )
    except OutboundRequestError as exc:
        return _Result(delivery, started, time.monotonic() - clock, error=str(exc), blocked=exc.blocked)
    return _Result(
        delivery,
        started,
        time.monotonic() - clock,
        status_code=response.status_code,
        response_body=response.content[:ERROR_TEXT_LIMIT].decode(errors="replace"),
        retry_after=_retry_after(response.headers),
    )


def retry_delay(attempts: int) -> float:
    """The wait before the next POST of a callback after ``attempts`` failed ones (with jitter)."""
    return jittered_backoff_delay(
        attempts,
        base=settings.NOTIFICATIONS_CALLBACK_RETRY_BASE_SECONDS,
        cap=settings.NOTIFICATIONS_CALLBACK_RETRY_MAX_SECONDS,
    )


def _outcome(result: _Result, now: datetime) -> dict[str, Any]:
    """The delivery's new columns after one attempt."""
    delivery = result.delivery
    error = result.error or (
        "" if result.ok else f"HTTP {result.status_code}: {result.response_body[:200]}".rstrip(": ")
    )
    common = {"last_status_code": result.status_code, "last_error": error[:ERROR_TEXT_LIMIT]}
    if result.ok:
        return {**common, "state": CallbackState.DELIVERED, "delivered_at": now, "next_attempt_at": None}
    if result.blocked:
        return {**common, "state": CallbackState.FAILED, "next_attempt_at": None}
    delay = retry_delay(delivery.attempts)
    if result.retry_after is not None:
        # The receiver asked for a pause (429 / 503): honour it, within our own ceiling.
        delay = max(delay, min(result.retry_after, settings.NOTIFICATIONS_CALLBACK_RETRY_MAX_SECONDS))
    due = now + timedelta(seconds=delay)
    if due > delivery.give_up_at:
        return {
            **common,
            "state": CallbackState.FAILED,
            "next_attempt_at": None,
            "last_error": f"gave up after {delivery.attempts} attempts: {error}"[:ERROR_TEXT_LIMIT],
        }
    return {**common, "state": CallbackState.PENDING, "next_attempt_at": due}


def _record(results: Sequence[_Result], summary: DeliverSummary) -> None:
    now = timezone.now()
    batch = DeliverSummary()
    with transaction.atomic():
        CallbackAttempt.objects.bulk_create(
            CallbackAttempt(
                delivery_id=result.delivery.id,
                attempt=result.delivery.attempts,
                started_at=result.started_at,
                duration_ms=int(result.duration * 1000),
                status_code=result.status_code,
                error=result.error[:ERROR_TEXT_LIMIT],
                response_body=result.response_body,
            )
            for result in results
        )
        for result in results:
            values = _outcome(result, now)
            # Fenced by the attempt number: a re-send from the admin meanwhile is not overwritten.
            CallbackDelivery.objects.filter(
                id=result.delivery.id, state=CallbackState.PENDING, attempts=result.delivery.attempts
            ).update(**values)
            if values["state"] == CallbackState.DELIVERED:
                batch.delivered += 1
            elif values["state"] == CallbackState.FAILED:
                batch.failed += 1
                logger.warning(
                    "status callback %s failed for good: %s",
                    result.delivery.event_id,
                    values["last_error"],
                    extra={"order_id": str(result.delivery.order_id)},
                )
            else:
                batch.retried += 1
    summary.delivered += batch.delivered
    summary.retried += batch.retried
    summary.failed += batch.failed
    callbacks_record(delivered=batch.delivered, retried=batch.retried, failed=batch.failed)


def callbacks_deliver(*, time_budget: float = 60.0) -> DeliverSummary:
    """Deliver due callbacks in batches until none is due or ``time_budget`` seconds have passed."""
    summary = DeliverSummary()
    deadline = time.monotonic() + time_budget
    limit = settings.NOTIFICATIONS_CALLBACK_BATCH_SIZE
    # Most runs (every sweep, every kick) find nothing due: claim before building a client and a pool.
    batch = callbacks_claim(limit=limit) if not stop_requested() else []
    if not batch:
        return summary
    with (
        GuardedClient(timeout=settings.NOTIFICATIONS_CALLBACK_TIMEOUT_SECONDS) as client,
        ThreadPoolExecutor(max_workers=max(1, settings.NOTIFICATIONS_CALLBACK_CONCURRENCY)) as pool,
    ):
        # A worker asked to stop (SIGTERM) records the batch in hand and claims no other.
        while batch:
            summary.claimed += len(batch)
            signing = callback_signing_secrets(creators={row.creator for row in batch})
            # Only the POSTs run in threads; every database access stays on this thread's connection. Each
            # POST runs in a copy of this thread's context, so it belongs to this task's trace.
            posts = [
                pool.submit(contextvars.copy_context().run, _post, client, row, signing[row.creator])
                for row in batch
            ]
            results = [post.result() for post in posts]
            _record(results, summary)
            if len(batch) < limit or time.monotonic() >= deadline or stop_requested():
                break
            batch = callbacks_claim(limit=limit)
    return summary
