"""Per-creator rate limiting for the API, counted in Redis, with ``RateLimit-*`` and ``Retry-After`` headers.

A fixed one-minute window per creator (``NOTIFICATIONS_RATE_LIMIT_PER_MINUTE``; 0 turns it off). Redis is only
a counter here: when it is unreachable the limiter lets requests through (fails open) and logs it, because
PostgreSQL, not Redis, decides whether an order can be accepted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from core.auth import ServiceOwner

if TYPE_CHECKING:
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)
WINDOW_SECONDS = 60


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    count: int
    reset_seconds: int

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)

    @property
    def exceeded(self) -> bool:
        return self.count > self.limit


_client_lock = threading.Lock()
_client: redis.Redis | None = None
_client_url: str | None = None


def _redis() -> redis.Redis:
    global _client, _client_url
    url = str(settings.CACHES["default"]["LOCATION"])
    with _client_lock:
        if _client is None or _client_url != url:
            _client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
            _client_url = url
        return _client


def consume(creator: str, *, limit: int, now: float | None = None) -> RateLimitState | None:
    """Count one request of ``creator``; None when Redis cannot be reached (fail open)."""
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    key = f"ratelimit:{creator}:{window}"
    try:
        pipe = _redis().pipeline()
        pipe.incr(key)
        pipe.expire(key, WINDOW_SECONDS * 2)
        count = int(pipe.execute()[0])
    except redis.RedisError:
        logger.warning("rate limiter: Redis unavailable, letting the request through")
        return None
    reset = max(1, int((window + 1) * WINDOW_SECONDS - now))
    return RateLimitState(limit=limit, count=count, reset_seconds=reset)


class CreatorRateThrottle(BaseThrottle):
    """DRF throttle: at most NOTIFICATIONS_RATE_LIMIT_PER_MINUTE requests per creator and minute."""

    def __init__(self) -> None:
        self.state: RateLimitState | None = None

    def allow_request(self, request: Request, view: APIView) -> bool:
        limit = settings.NOTIFICATIONS_RATE_LIMIT_PER_MINUTE
        user = request.user
        if limit <= 0 or not isinstance(user, ServiceOwner) or not user.org:
            return True
        self.state = consume(user.org, limit=limit)
        if self.state is None:
            return True
        # The middleware below copies the state onto every response of this request.
        request._request.rate_limit_state = self.state
        return not self.state.exceeded

    def wait(self) -> float | None:
        return float(self.state.reset_seconds) if self.state else None


class RateLimitHeadersMiddleware:
    """Adds RateLimit-Limit / -Remaining / -Reset to API responses that were counted."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        state: RateLimitState | None = getattr(request, "rate_limit_state", None)
        if state is not None:
            response["RateLimit-Limit"] = str(state.limit)
            response["RateLimit-Remaining"] = str(state.remaining)
            response["RateLimit-Reset"] = str(state.reset_seconds)
        return response
