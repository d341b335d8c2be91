"""Per-creator rate limits: 429 with Retry-After beyond the limit, headers on every counted response."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from rest_framework.test import APIClient

WHOAMI = "/notifications/api/v1/whoami"


def _client(make_token: Callable[..., str], org: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(org=org)}")
    return client


def test_requests_beyond_the_limit_get_429_with_retry_after(settings, make_token) -> None:
    settings.NOTIFICATIONS_RATE_LIMIT_PER_MINUTE = 3
    client = _client(make_token, f"org-{uuid.uuid4().hex[:8]}")
    responses = [client.get(WHOAMI) for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r["RateLimit-Remaining"] for r in responses] == ["2", "1", "0", "0"]
    limited = responses[-1]
    assert limited["Content-Type"] == "application/problem+json"
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert limited["RateLimit-Limit"] == "3"


def test_limits_are_counted_per_creator(settings, make_token) -> None:
    settings.NOTIFICATIONS_RATE_LIMIT_PER_MINUTE = 1
    first = _client(make_token, f"org-{uuid.uuid4().hex[:8]}")
    second = _client(make_token, f"org-{uuid.uuid4().hex[:8]}")
    assert first.get(WHOAMI).status_code == 200
    assert first.get(WHOAMI).status_code == 429
    assert second.get(WHOAMI).status_code == 200


def test_limiter_fails_open_when_redis_is_down(settings, make_token) -> None:
    from notifications_project.launcher.servers import free_port

    settings.NOTIFICATIONS_RATE_LIMIT_PER_MINUTE = 1
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }
    client = _client(make_token, f"org-{uuid.uuid4().hex[:8]}")
    statuses = [client.get(WHOAMI).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert "RateLimit-Limit" not in client.get(WHOAMI)


def test_unauthenticated_requests_are_not_counted(settings) -> None:
    settings.NOTIFICATIONS_RATE_LIMIT_PER_MINUTE = 1
    response = APIClient().get(WHOAMI)
    assert response.status_code == 401
    assert "RateLimit-Limit" not in response
