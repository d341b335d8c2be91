"""Django's Redis cache with one connection pool per server for the whole process.

Django keeps its cache backends per context (``asgiref.local.Local``, not thread-critical), and the web
process runs every request in a copy of the server task's context (a2wsgi, see the ASGI module). So
Django's ``RedisCache`` built a new backend, a new connection pool and a new TCP connection (with its
``HELLO`` handshake) for every request that touched the cache, and left the socket to the garbage collector.
redis-py's pools are thread-safe and reset themselves in a forked child, so one pool per server and
options serves every thread and request of a process.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_pools: dict[tuple[str, str], Any] = {}
_pools_lock = threading.Lock()


class SharedPoolRedisCacheClient(RedisCacheClient):
    # Set by RedisCacheClient.__init__ (not in its type stubs).
    _servers: list[str]
    _pool_class: Any
    _pool_options: dict[str, Any]

    def _get_connection_pool(self, write: bool) -> Any:
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]
        server = self._servers[index]
        key = (server, repr(sorted(self._pool_options.items())))
        with _pools_lock:
            pool = _pools.get(key)
            if pool is None:
                pool = _pools[key] = self._pool_class.from_url(server, **self._pool_options)
        return pool


class SharedPoolRedisCache(RedisCache):
    """``django.core.cache.backends.redis.RedisCache`` whose connection pools outlive the request."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedPoolRedisCacheClient
