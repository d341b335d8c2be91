"""The cache keeps one Redis connection pool per process, however the requests' contexts come and go."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.core.cache import caches

from core.cache import SharedPoolRedisCache


def _pool_and_roundtrip(key: str) -> tuple[Any, Any]:
    # What a request does: the default cache as the request's context sees it.
    cache = caches["default"]
    cache.set(key, b"value", 30)
    return cache._cache.get_client(key).connection_pool, cache.get(key)  # type: ignore[attr-defined]


def _as_requests(count: int) -> list[tuple[Any, Any]]:
    """Run ``count`` requests as the web process does: each in a copy of a fresh task's context, on a
    small thread pool (a2wsgi)."""

    async def serve() -> list[tuple[Any, Any]]:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(2) as pool:

            async def one(index: int) -> tuple[Any, Any]:
                context = contextvars.copy_context()
                call = functools.partial(context.run, _pool_and_roundtrip, f"core-cache-test-{index}")
                return await loop.run_in_executor(pool, call)

            return [await asyncio.create_task(one(index)) for index in range(count)]

    return asyncio.run(serve())


def test_the_default_cache_is_the_shared_pool_backend() -> None:
    assert isinstance(caches["default"], SharedPoolRedisCache)


def test_requests_in_fresh_contexts_share_one_connection_pool() -> None:
    answers = _as_requests(6)

    pools = {id(pool) for pool, _ in answers}
    assert len(pools) == 1
    assert [value for _, value in answers] == [b"value"] * 6
    # One connection per thread at most, not one per request.
    pool = answers[0][0]
    assert len(pool._available_connections) + len(pool._in_use_connections) <= 2


def test_a_cache_for_another_server_gets_its_own_pool(settings: Any) -> None:
    location = settings.CACHES["default"]["LOCATION"]
    other = SharedPoolRedisCache(location, {"OPTIONS": {"socket_timeout": 2.5}})
    default = caches["default"]

    other_pool = other._cache.get_client("k").connection_pool  # type: ignore[attr-defined]
    default_pool = default._cache.get_client("k").connection_pool  # type: ignore[attr-defined]

    assert other_pool is not default_pool
