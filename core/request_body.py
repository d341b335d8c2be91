"""An ASGI middleware that reads each request's whole body before Django sees the request.

Django runs a request's sync code (middleware, views, the ORM) on a thread of the web worker's pool
(see asgi.py). If Django read the body itself, a client trickling its body one byte at a time would hold
that thread, and a database connection, for as long as it liked. Here the body is read by a coroutine
instead, which costs next to nothing while it waits, and only a complete body is handed on:

* at most ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes (``NOTIFICATIONS_MAX_REQUEST_BYTES``): a larger declared
  length is refused before anything is read, a longer body as soon as it passes the limit (413);
* within ``WEB_BODY_TIMEOUT_SECONDS`` for the whole body, however it trickles in (408);
* a chunked body (``Transfer-Encoding: chunked``, no ``Content-Length``) is handed on with the
  ``Content-Length`` of what arrived, so Django and DRF read it like any other body.

Then at most ``WEB_CONCURRENT_REQUESTS`` requests of this worker are in Django at once (each on a thread
with its persistent database connection); the others wait here, as coroutines.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from django.conf import settings

from core.problems import PROBLEM_CONTENT_TYPE, problem_body

logger = logging.getLogger(__name__)

# The shapes django-stubs gives Django's ASGIHandler.
Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
WSGIApp = Callable[[dict[str, Any], Any], Any]


# The whole body, as read here, for :func:`buffered_wsgi_input`.
BODY_SCOPE_KEY = "notifications.body"


class _BodyTooLarge(Exception):
    pass


class _ClientGone(Exception):
    pass


class RequestBodyMiddleware:
    """Buffer the body within a size cap and a deadline, then call the wrapped app with all of it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.in_django = asyncio.Semaphore(settings.WEB_CONCURRENT_REQUESTS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit: int | None = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        timeout: float = settings.WEB_BODY_TIMEOUT_SECONDS
        headers = [(name.lower(), value) for name, value in scope["headers"]]
        declared = _declared_length(headers)
        if declared is None:
            await _problem(send, 400, "Bad Request", "The Content-Length header is not a valid length.")
            return
        if limit is not None and declared > limit:
            await _problem(send, 413, "Payload Too Large", _too_large_detail(limit))
            return
        try:
            async with asyncio.timeout(timeout):
                body = await _read_body(receive, limit)
        except TimeoutError:
            logger.warning("body incomplete after %ss: %s %s", timeout, scope["method"], scope["path"])
            detail = f"The request body was not received within {timeout:g} seconds."
            await _problem(send, 408, "Request Timeout", detail)
            return
        except _BodyTooLarge:
            await _problem(send, 413, "Payload Too Large", _too_large_detail(limit))
            return
        except _ClientGone:
            return
        # What arrived is what Django gets, with its true length: a chunked body has no Content-Length of
        # its own, and DRF reads a request without one as having no body at all.
        framing = (b"content-length", b"transfer-encoding")
        kept = [(name, value) for name, value in headers if name not in framing]
        if body:
            kept.append((b"content-length", str(len(body)).encode()))
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            # Afterwards Django only listens for the client going away.
            return await receive()

        async with self.in_django:
            await self.app({**scope, "headers": kept, BODY_SCOPE_KEY: body}, replay, send)


def _declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The Content-Length (0 when absent), or None when it is not one non-negative number."""
    values = {value.strip() for name, value in headers if name == b"content-length"}
    if not values:
        return 0
    if len(values) > 1:
        return None
    (value,) = values
    return int(value) if value.isdigit() else None


async def _read_body(receive: Receive, limit: int | None) -> bytes:
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        body += message.get("body", b"")
        if limit is not None and len(body) > limit:
            raise _BodyTooLarge
        if not message.get("more_body", False):
            return bytes(body)


def _too_large_detail(limit: int | None) -> str:
    return f"The request body is larger than the limit of {limit} bytes."


async def _problem(send: Send, status: int, title: str, detail: str) -> None:
    """Answer with problem details and close the connection (the rest of the body is not read)."""
    content = json.dumps(problem_body(status, title, detail)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_CONTENT_TYPE.encode()),
                (b"content-length", str(len(content)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": content, "more_body": False})


def buffered_wsgi_input(app: WSGIApp) -> WSGIApp:
    """The WSGI app reading the body this middleware already read, from memory.

    a2wsgi hands the body to a WSGI thread by asking the event loop for it (``receive`` through
    ``run_coroutine_threadsafe``): the thread then waits for a turn of a loop that is busy with every other
    request of the worker, which was a quarter of a one-report webhook's time. The body is complete by
    then, so the thread reads it from the ASGI scope (a2wsgi's ``asgi.scope``) instead.
    """

    def wrapped(environ: dict[str, Any], start_response: Any) -> Any:
        body = environ.get("asgi.scope", {}).get(BODY_SCOPE_KEY)
        if isinstance(body, bytes):
            environ["wsgi.input"] = io.BytesIO(body)
        return app(environ, start_response)

    return wrapped
