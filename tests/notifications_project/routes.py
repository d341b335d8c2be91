"""Every route the service answers, read from the URL resolver, so tests cover new endpoints by themselves."""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from notifications_project.urls import API_PREFIX

_CONVERTER = re.compile(r"<(?:(?P<converter>[a-z]+):)?(?P<name>\w+)>")
SAMPLE_ID = "8a9f3d1c-2b4e-4f6a-9c0d-1e2f3a4b5c6d"
OPENAPI_PATH = f"/{API_PREFIX}openapi.json"


@dataclass(frozen=True)
class Route:
    route: str  # as declared, e.g. "notifications/api/v1/orders/<str:id>"
    name: str | None
    callback: Any

    @property
    def template(self) -> str:
        """The path in OpenAPI form: "/notifications/api/v1/orders/{id}"."""
        return "/" + _CONVERTER.sub(lambda m: "{" + m["name"] + "}", self.route)

    def path(self, **values: str) -> str:
        """A concrete path, parameters filled from ``values`` or with a sample of their type."""

        def fill(match: re.Match[str]) -> str:
            if match["name"] in values:
                return values[match["name"]]
            if match["converter"] == "int":
                return "1"
            # Every id (id, shipment_id) well-formed: a route answers for its resource, not its syntax.
            return SAMPLE_ID if match["name"] == "id" or match["name"].endswith("_id") else "sample"

        return "/" + _CONVERTER.sub(fill, self.route)

    @property
    def parameters(self) -> list[str]:
        return [m["name"] for m in _CONVERTER.finditer(self.route)]

    @property
    def view_class(self) -> Any:
        return getattr(self.callback, "cls", None) or getattr(self.callback, "view_class", None)

    @property
    def is_api(self) -> bool:
        return self.route.startswith(API_PREFIX)

    @property
    def is_drf(self) -> bool:
        from rest_framework.views import APIView

        return isinstance(self.view_class, type) and issubclass(self.view_class, APIView)

    @property
    def methods(self) -> list[str]:
        """The HTTP methods a DRF route dispatches to a handler (OPTIONS and HEAD left out)."""
        actions = getattr(self.callback, "actions", None)
        if actions:
            return sorted(method.upper() for method in actions if method not in ("head", "options"))
        cls = self.view_class
        return sorted(
            method.upper()
            for method in ("get", "post", "put", "patch", "delete")
            if cls is not None and hasattr(cls, method)
        )


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[Route]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield Route(prefix + str(pattern.pattern), pattern.name, pattern.callback)


def all_routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns))


def api_operations() -> list[tuple[str, Route]]:
    """(method, route) of every DRF route under the API prefix, schema views included."""
    return [
        (method, route) for route in all_routes() if route.is_api and route.is_drf for method in route.methods
    ]


def new_uuid() -> str:
    return str(uuid.uuid4())


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The service's own OpenAPI document, as a client downloads it."""
    response = Client().get(OPENAPI_PATH)
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document
