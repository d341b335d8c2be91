"""Idempotent order creation: a retried POST with the same Idempotency-Key never creates a second order.

1. ``idempotency_claim`` inserts the key (unique per creator) as in flight before the order is created.
   A replay with the same request gets the stored response; the same key with another request is a 422;
   a duplicate while the first is still in flight is a 409 with Retry-After.
2. ``order_create`` marks the key done *in the same transaction* as the order, so either both exist or
   neither does. A request whose key was taken over (because it looked abandoned) rolls back.
3. ``idempotency_release`` frees the key when the request failed, so the client can retry it.
Keys are kept ``NOTIFICATIONS_IDEMPOTENCY_RETENTION_HOURS`` (default 24) and purged by a beat task.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.problems import ApplicationError, ConflictError
from orders.models import IdempotencyKey, Order

logger = logging.getLogger(__name__)

# The request header carrying the client's key, and the response header marking a replayed response.
IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"

MAX_KEY_LENGTH = 255
# An in-flight key older than this belongs to a request that died; another request may take it over.
IN_FLIGHT_LEASE = timedelta(seconds=60)
RETRY_AFTER_SECONDS = 1
IDEMPOTENCY_TAKEN_OVER = "The Idempotency-Key was taken over by a retry of this request."


class IdempotencyKeyReused(ApplicationError):
    status_code = 422
    title = "Idempotency-Key reused"


class IdempotencyKeyInFlight(ConflictError):
    title = "A request with this Idempotency-Key is still being processed"
    retry_after = RETRY_AFTER_SECONDS


@dataclass(frozen=True)
class IdempotencyClaim:
    id: int
    token: uuid.UUID


@dataclass(frozen=True)
class IdempotentReplay:
    status: int
    body: dict[str, Any]
    order_id: uuid.UUID


def key_problem(key: str) -> str | None:
    """Why ``key`` is not a usable Idempotency-Key, or None."""
    if not key or len(key) > MAX_KEY_LENGTH:
        return f"The Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters long."
    if not all(" " <= char <= "~" for char in key):
        return "The Idempotency-Key may only contain printable ASCII characters."
    return None


def canonical_json(data: Any) -> str:
    """The JSON text a request's fingerprint hashes: keys sorted, no spaces, non-ASCII as it is."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def request_fingerprint(*, path: str, data: Any) -> str:
    """A hash of what the request asks for: same path and same JSON (key order and spacing aside)."""
    return canonical_fingerprint(path=path, canonical=canonical_json(data))


def canonical_fingerprint(*, path: str, canonical: str) -> str:
    """``request_fingerprint`` of a document whose ``canonical_json`` text was built another way."""
    return hashlib.sha256(f"{path}\n{canonical}".encode()).hexdigest()


def _retention() -> timedelta:
    return timedelta(hours=settings.NOTIFICATIONS_IDEMPOTENCY_RETENTION_HOURS)


def idempotency_claim(
    *, creator: str, key: str, request_hash: str, now: datetime | None = None
) -> IdempotencyClaim | IdempotentReplay:
    """Claim ``key`` for this request, or return the stored outcome of the request that used it."""
    now = now or timezone.now()
    for _ in range(3):  # a concurrent purge or release can make the row vanish between our two steps
        token = uuid.uuid4()
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    creator=creator,
                    key=key,
                    request_hash=request_hash,
                    token=token,
                    created_at=now,
                    claimed_at=now,
                )
            return IdempotencyClaim(id=record.id, token=token)
        except IntegrityError:
            pass
        existing = IdempotencyKey.objects.filter(creator=creator, key=key).first()
        if existing is None:
            continue
        if existing.created_at < now - _retention():
            IdempotencyKey.objects.filter(id=existing.id, token=existing.token).delete()
            continue
        if existing.request_hash != request_hash:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used for a different request. "
                "Use a new key for a new order."
            )
        if existing.state == IdempotencyKey.State.DONE and existing.order_id is not None:
            return IdempotentReplay(
                status=existing.response_status or 202,
                body=existing.response_body or {},
                order_id=existing.order_id,
            )
        if existing.claimed_at < now - IN_FLIGHT_LEASE:
            taken = IdempotencyKey.objects.filter(
                id=existing.id, token=existing.token, state=IdempotencyKey.State.IN_FLIGHT
            ).update(token=token, claimed_at=now)
            if taken:
                logger.warning(
                    "took over abandoned Idempotency-Key of %s", creator, extra={"creator": creator}
                )
                return IdempotencyClaim(id=existing.id, token=token)
            continue
        raise IdempotencyKeyInFlight(
            "The first request with this Idempotency-Key has not finished yet; retry shortly."
        )
    raise IdempotencyKeyInFlight("The Idempotency-Key is contended; retry shortly.")


def idempotency_complete(*, claim: IdempotencyClaim, order: Order, status: int, body: dict[str, Any]) -> None:
    """Mark the key done with the response; call inside the transaction that creates the order."""
    done = IdempotencyKey.objects.filter(
        id=claim.id, token=claim.token, state=IdempotencyKey.State.IN_FLIGHT
    ).update(state=IdempotencyKey.State.DONE, order=order, response_status=status, response_body=body)
    if not done:
        # Another request took the key over while we were slow: roll our order back rather than duplicate.
        raise IdempotencyKeyInFlight(IDEMPOTENCY_TAKEN_OVER)


def idempotency_release(*, claim: IdempotencyClaim) -> None:
    """Free an in-flight key after the request failed, so the client may retry with it."""
    IdempotencyKey.objects.filter(
        id=claim.id, token=claim.token, state=IdempotencyKey.State.IN_FLIGHT
    ).delete()


def idempotency_keys_purge(*, now: datetime | None = None) -> int:
    """Delete keys past their retention; returns how many."""
    cutoff = (now or timezone.now()) - _retention()
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
