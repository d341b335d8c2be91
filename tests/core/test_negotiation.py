"""The negotiation shortcut (core/negotiation.py) answers exactly as DRF's own negotiation."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import Http404
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from core.negotiation import JsonFirstNegotiation

ACCEPTS = [
    None,
    "*/*",
    "application/json",
    "",
    "application/*",
    "application/json; indent=4",
    "application/json;q=0.5, */*;q=0.1",
    "text/html",
    "text/html, */*",
    "application/problem+json",
    "application/xml",
    "*/*; q=0",
    " application/json",
]
RENDERER_SETS: list[list[type[BaseRenderer]]] = [
    [JSONRenderer],
    [JSONRenderer, BrowsableAPIRenderer],
    [BrowsableAPIRenderer, JSONRenderer],
    [OpenApiYamlRenderer, OpenApiJsonRenderer],
]


def _answer(negotiation: Any, request: Request, renderers: list[BaseRenderer], suffix: str | None) -> Any:
    try:
        renderer, media_type = negotiation.select_renderer(request, renderers, suffix)
    except NotAcceptable as exc:
        return ("406", str(exc.detail))
    except Http404:  # a format no renderer has
        return ("404",)
    return (type(renderer), media_type)


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("query", ["", "format=json", "format=api", "other=1"])
@pytest.mark.parametrize("suffix", [None, "json"])
@pytest.mark.parametrize("renderer_classes", RENDERER_SETS)
def test_the_shortcut_answers_as_drf(
    accept: str | None, query: str, suffix: str | None, renderer_classes: list[type[BaseRenderer]]
) -> None:
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get(f"/x?{query}" if query else "/x", **headers))
    renderers = [cls() for cls in renderer_classes]

    expected = _answer(DefaultContentNegotiation(), request, renderers, suffix)
    assert _answer(JsonFirstNegotiation(), request, renderers, suffix) == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("accept", "status"), [(None, 200), ("*/*", 200), ("application/json", 200), ("text/html", 406)]
)
def test_the_api_negotiates_as_before(api_client: APIClient, accept: str | None, status: int) -> None:
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    response = api_client.get("/notifications/api/v1/whoami", **headers)

    assert response.status_code == status
    assert response["Content-Type"] == ("application/json" if status == 200 else "application/problem+json")
