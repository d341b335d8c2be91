"""Django reads the request body that the body middleware buffered, from memory, not through the loop."""

from __future__ import annotations

import asyncio
from typing import Any

from a2wsgi import WSGIMiddleware

from core.request_body import RequestBodyMiddleware, buffered_wsgi_input


def _serve(body_parts: list[bytes], headers: list[tuple[bytes, bytes]]) -> tuple[bytes, int, list[Any]]:
    """One request through RequestBodyMiddleware and a2wsgi, as the web process stacks them: what the WSGI
    app read from ``wsgi.input``, how often a2wsgi asked the event loop for body messages and what was
    sent."""
    seen: dict[str, bytes] = {}

    def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        seen["body"] = environ["wsgi.input"].read(length)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    messages = [
        {"type": "http.request", "body": part, "more_body": index < len(body_parts) - 1}
        for index, part in enumerate(body_parts)
    ]
    calls = 0
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)  # as a client that stays: only a disconnect would come
        raise AssertionError

    async def send(message: Any) -> None:
        sent.append(message)

    wsgi = WSGIMiddleware(buffered_wsgi_input(wsgi_app), workers=2)  # type: ignore[arg-type]

    async def counted(scope: Any, inner_receive: Any, inner_send: Any) -> None:
        async def receive_counted() -> Any:
            nonlocal calls
            calls += 1
            return await inner_receive()

        await wsgi(scope, receive_counted, inner_send)

    async def run() -> None:
        app = RequestBodyMiddleware(counted)
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/",
            "query_string": b"",
            "http_version": "1.1",
            "headers": headers,
        }
        await app(scope, receive, send)

    asyncio.run(run())
    return seen["body"], calls, sent


def test_the_wsgi_app_reads_the_whole_buffered_body_without_asking_the_loop() -> None:
    body, calls, sent = _serve([b"MessageSid=SM1&", b"MessageStatus=delivered"], [(b"content-length", b"38")])

    assert body == b"MessageSid=SM1&MessageStatus=delivered"
    assert calls == 0  # the WSGI thread never waited for the loop to hand it the body
    assert sent[0]["status"] == 200


def test_a_chunked_body_is_read_from_memory_too() -> None:
    body, calls, _ = _serve([b"a=1", b"&b=2", b""], [(b"transfer-encoding", b"chunked")])

    assert body == b"a=1&b=2"
    assert calls == 0


def test_a_request_without_a_body_reads_empty() -> None:
    body, _, _ = _serve([b""], [])

    assert body == b""


def test_without_the_buffered_body_the_app_still_reads_its_input() -> None:
    environ: dict[str, Any] = {"wsgi.input": _Input(b"x=1"), "CONTENT_LENGTH": "3"}
    read: list[bytes] = []

    def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        read.append(environ["wsgi.input"].read(3))
        return []

    buffered_wsgi_input(wsgi_app)(environ, None)

    assert read == [b"x=1"]


class _Input:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, size: int = -1) -> bytes:
        return self.data
