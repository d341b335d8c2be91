"""One log line per request, with a request id; never the Authorization header or the body.

What a request did that is worth a line of its own (an order registered) is told with
:func:`log_with_request`: inside a request it ends that request's line (and its ``extra`` fields go on the
same record), so a request is still one line; outside one (a task, a command) it is a line of its own.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("notifications.request")

# A caller's X-Request-ID is kept only when it is a plain token: anything else (spaces, control characters,
# "request_id=" look-alikes, kilobytes of text) could forge or split log lines and is replaced by our own.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Control characters (a %0A in the path decodes to a newline) are logged escaped, so one request is one line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


# The events told by log_with_request during the current request: (text, extra fields); None outside one.
_events: ContextVar[list[tuple[str, dict[str, str]]] | None] = ContextVar("request_log_events", default=None)


def log_with_request(logger: logging.Logger, message: str, *args: object, extra: dict[str, str]) -> None:
    """Log ``message % args`` (INFO) on the current request's line, or on a line of its own outside one."""
    events = _events.get()
    if events is None:
        logger.info(message, *args, extra=extra)
    else:
        events.append((message % args, extra))


def request_id_of(request: HttpRequest) -> str:
    """The caller's X-Request-ID when it is a plain token, otherwise a new one."""
    given = request.META.get("HTTP_X_REQUEST_ID", "")  # request.headers would copy every header first
    return given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def _printable(text: str) -> str:
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_of(request)
        started = time.perf_counter()
        events: list[tuple[str, dict[str, str]]] = []
        reset = _events.set(events)
        try:
            response = self.get_response(request)
        finally:
            _events.reset(reset)
        elapsed_ms = (time.perf_counter() - started) * 1000
        response["X-Request-ID"] = request_id
        extra = {"request_id": request_id}
        message = "%s %s %s %.1fms request_id=%s"
        args: list[object] = [
            _printable(request.method or ""),
            _printable(request.path),
            response.status_code,
            elapsed_ms,
            request_id,
        ]
        for text, fields in events:
            message += " %s"
            args.append(_printable(text))
            extra = {**fields, **extra}
        logger.info(message, *args, extra=extra)
        return response
