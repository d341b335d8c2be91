"""One log line per request, with a request id; never the Authorization header or the body."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("notifications.request")

# A caller's X-Request-ID is kept only when it is a plain token: anything else (spaces, control characters,
# "request_id=" look-alikes, kilobytes of text) could forge or split log lines and is replaced by our own.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Control characters (a %0A in the path decodes to a newline) are logged escaped, so one request is one line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def request_id_of(request: HttpRequest) -> str:
    """The caller's X-Request-ID when it is a plain token, otherwise a new one."""
    given = request.headers.get("X-Request-ID", "")
    return given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def _printable(text: str) -> str:
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_of(request)
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed_ms = (time.perf_counter() - started) * 1000
        response["X-Request-ID"] = request_id
        logger.info(
            "%s %s %s %.1fms request_id=%s",
            _printable(request.method or ""),
            _printable(request.path),
            response.status_code,
            elapsed_ms,
            request_id,
            extra={"request_id": request_id},
        )
        return response
