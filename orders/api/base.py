"""The base of every orders API viewset: JSON bodies through BoundedJSONParser (read with ``json_body``),
and no query or path parameter holding text PostgreSQL cannot store."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from rest_framework import serializers, viewsets
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.request import Request

from orders.api.parsers import MSG_UNSTORABLE_TEXT, UNSTORABLE, BoundedJSONParser, payload_too_large


def json_body(request: Request, *, what: str) -> Any:
    """The parsed JSON body; 415 for a body without a Content-Type, 413 for one over the size limit.

    ``what`` names the body in the 415's detail ("order", "request").
    """
    if not request.content_type and int(request.META.get("CONTENT_LENGTH") or 0) > 0:
        # DRF would read a body without a Content-Type as empty and report every field missing.
        raise UnsupportedMediaType("", detail=f"Send the {what} as JSON with Content-Type: application/json.")
    try:
        return request.data
    except RequestDataTooBig:
        raise payload_too_large() from None


def unstorable_parameters(request: Request, path_parameters: dict[str, Any]) -> dict[str, list[str]]:
    """Every query and path parameter (by name) whose name or value holds a NUL or a lone surrogate.

    Django reads broken UTF-8 in a URL as U+FFFD, so in practice this is NUL (``%00``), which PostgreSQL
    refuses in a query; checked for every parameter, read or not, so none can reach a query later.
    """
    errors: dict[str, list[str]] = {}
    for name, values in request.query_params.lists():
        if UNSTORABLE.search(name) or any(UNSTORABLE.search(value) for value in values):
            # A bad name cannot be shown as it is; its JSON escape can.
            shown = UNSTORABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", name)
            errors[shown] = [MSG_UNSTORABLE_TEXT]
    for name, value in path_parameters.items():
        if isinstance(value, str) and UNSTORABLE.search(value):
            errors[name] = [MSG_UNSTORABLE_TEXT]
    return errors


class ApiViewSet(viewsets.ViewSet):
    parser_classes = [BoundedJSONParser]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # After authentication, permissions and throttling (super), so an unauthorised caller still
        # gets 401/403 first, and before the handler reads any parameter.
        super().initial(request, *args, **kwargs)
        errors = unstorable_parameters(request, kwargs)
        if errors:
            raise serializers.ValidationError(errors)
