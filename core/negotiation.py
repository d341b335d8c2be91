"""DRF content negotiation with a shortcut for what nearly every API request asks: JSON, or anything.

DRF parses the ``Accept`` header into media types and orders them by precedence on every request (several
per cent of a small request's CPU). When the view's first renderer is plain JSON, there is no ``format``
override and the client sends no ``Accept``, ``*/*`` or ``application/json``, DRF's answer is always that
renderer and ``application/json``: this returns it directly. Anything else goes through DRF unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

JSON = "application/json"
# DRF reads a missing Accept as */*.
_ANSWERED_AS_JSON = frozenset({"*/*", JSON})


class JsonFirstNegotiation(DefaultContentNegotiation):
    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> Any:
        meta = request._request.META
        if (
            isinstance(renderers, Sequence)  # a view's renderers: a list
            and renderers
            and renderers[0].media_type == JSON
            and format_suffix is None
            and not meta.get("QUERY_STRING")  # no ?format= override
            and meta.get("HTTP_ACCEPT", "*/*") in _ANSWERED_AS_JSON
        ):
            return renderers[0], JSON
        return super().select_renderer(request, renderers, format_suffix)
