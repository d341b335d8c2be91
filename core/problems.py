"""Problem details (RFC 9457) for every error the API returns.

Validation errors carry ``errors`` keyed by the JSON path of the offending field, e.g.
``recipients[0].mobileNumber``, so a client can point at the field without knowing our code. At most
``MAX_LISTED_ERRORS`` paths are listed; what was left out is summed up under ``""``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.problem_codes import code_for

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
VALIDATION_TYPE = "https://tools.ietf.org/html/rfc9110#section-15.5.1"

# A request with 100,000 bad recipients once answered 35 MB of errors; a client fixes the first ones
# first anyway, so an answer lists this many paths and says how many more there were.
MAX_LISTED_ERRORS = 100
# The code of an error message that sums up errors not listed (or not looked for): it is moved to the
# document's path "" rather than counted as an error of the field it was raised on.
NOT_LISTED = "not_listed"


def not_listed(message: str) -> exceptions.ErrorDetail:
    """A note, in a validation error's detail, on errors the validation left out or did not look for."""
    return exceptions.ErrorDetail(message, code=NOT_LISTED)


def more_errors_message(count: int) -> str:
    return f"{count} more error{'s are' if count != 1 else ' is'} not listed."


class ApplicationError(Exception):
    """Base of the domain errors that services raise; mapped to HTTP here, in one place."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    title = "The request could not be processed."

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title


class ConflictError(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    title = "Conflict"


class DependencyUnavailable(ApplicationError):
    """A dependency (database, registry, provider) is down; the client may retry later."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    title = "A dependency of the service is temporarily unavailable."


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error structure into ``{"recipients[0].mobileNumber": [messages]}``."""
    errors: dict[str, list[str]] = {}
    _flatten(detail, prefix, errors)
    return errors


def _flatten(detail: Any, prefix: str, errors: dict[str, list[str]]) -> None:
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key in ("non_field_errors", "__all__"):
                name = prefix
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            _flatten(value, name, errors)
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            if isinstance(item, dict | list):
                _flatten(item, f"{prefix}[{index}]", errors)
            else:
                _flatten(item, prefix, errors)
    else:
        path = "" if getattr(detail, "code", None) == NOT_LISTED else prefix
        errors.setdefault(path, []).append(str(detail))


def listed_errors(detail: Any) -> dict[str, list[str]]:
    """The flattened errors, at most MAX_LISTED_ERRORS paths, plus the document path "" with its own
    errors and a note of how many paths were left out (and any note the validation left)."""
    errors = flatten_errors(detail)
    document = errors.pop("", [])
    if len(errors) > MAX_LISTED_ERRORS:
        omitted = len(errors) - MAX_LISTED_ERRORS
        errors = dict(list(errors.items())[:MAX_LISTED_ERRORS])
        document.append(more_errors_message(omitted))
    if document:
        errors[""] = document
    return errors


def problem_body(
    status_code: int,
    title: str,
    detail: str | None = None,
    *,
    problem_type: str = "about:blank",
    code: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The one shape of every error answer of the service (API, webhooks, metrics, the web server's own
    408/413): ``type``, ``title``, ``status``, then ``code``, ``detail`` (left out when it only repeats
    the title) and any extra members such as ``errors``. ``code`` defaults to the registry's code of the
    status and title (core/problem_codes.py), so every answer carries one."""
    body: dict[str, Any] = {"type": problem_type, "title": title, "status": status_code}
    body["code"] = code or code_for(status_code, title)
    if detail and detail != title:
        body["detail"] = detail
    if extra:
        body.update(extra)
    return body


def problem_response(
    status_code: int, title: str, *, detail: str | None = None, extra: dict[str, Any] | None = None
) -> Response:
    """Problem details from a DRF view."""
    body = problem_body(status_code, title, detail, extra=extra)
    return Response(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def problem_json(
    status_code: int, title: str, detail: str | None = None, *, headers: dict[str, str] | None = None
) -> JsonResponse:
    """Problem details from a plain Django view (webhooks, metrics, error pages)."""
    response = JsonResponse(
        problem_body(status_code, title, detail), status=status_code, content_type=PROBLEM_CONTENT_TYPE
    )
    for header, value in (headers or {}).items():
        response[header] = value
    return response


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler: every error becomes problem details; nothing leaks as a 500 page."""
    if isinstance(exc, exceptions.ValidationError):
        response = problem_response(
            400, "One or more validation errors occurred.", extra={"errors": listed_errors(exc.detail)}
        )
        response.data["type"] = VALIDATION_TYPE
        return response
    if isinstance(exc, exceptions.ParseError):
        # A body that is not JSON is a validation error of the document as a whole (path ""), so every
        # 400 has the same shape: clients and the OpenAPI document need only one.
        message = str(exc.detail)
        response = problem_response(400, "Bad Request", detail=message, extra={"errors": {"": [message]}})
        response.data["type"] = VALIDATION_TYPE
        return response
    if isinstance(exc, ApplicationError):
        response = problem_response(exc.status_code, exc.title, detail=exc.detail)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            response["Retry-After"] = str(retry_after)
        return response
    if isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DatabaseError) and "connection" in str(exc).lower()
    ):
        logger.error("database unavailable: %s", exc.__class__.__name__)
        response = problem_response(503, DependencyUnavailable.title, detail="The database is unavailable.")
        response["Retry-After"] = "5"
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    handled = exception_handler(exc, context)
    if handled is None:
        return None
    response = handled
    detail = response.data.get("detail") if isinstance(response.data, dict) else None
    title = _TITLES.get(response.status_code, "Error")
    problem = problem_response(response.status_code, title, detail=str(detail) if detail else None)
    for header, value in response.items():
        if header.lower() in ("www-authenticate", "retry-after", "allow"):
            problem[header] = value
    return problem


def _problem_page(status_code: int, title: str, detail: str) -> HttpResponse:
    return problem_json(status_code, title, detail)


# Django's error views (urls.py handler400 ... handler500), for what happens outside DRF's handler: an
# unknown URL, an error in a plain Django view or a middleware. They never echo the request, the URL
# patterns or a traceback; Django logs the traceback of a 500 (logger django.request).
def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _problem_page(400, "Bad Request", "The request could not be understood.")


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _problem_page(403, "Forbidden", "You do not have permission to perform this action.")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _problem_page(404, "Not Found", "There is nothing at this address.")


def server_error(request: HttpRequest) -> HttpResponse:
    return _problem_page(500, "Internal Server Error", "The request failed on the server; it is logged.")


_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
}
