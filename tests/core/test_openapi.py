"""core.openapi: the schema of a view method that is neither an HTTP verb nor an @action is applied, and
a name the view does not define is refused instead of silently documenting nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import path
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import ViewSet

from core.openapi import MSG_UNAUTHORIZED, access_problems, extend_schema_methods


def _schema_of(view: Any, actions: dict[str, str]) -> dict[str, Any]:
    generator = SchemaGenerator(patterns=[path("things/<str:id>/cancel", view.as_view(actions))])
    return generator.get_schema(request=None, public=True)


def test_a_custom_method_gets_its_operation() -> None:
    class ThingViewSet(ViewSet):
        def cancel(self, request: Request, id: str) -> Response:
            """Cancel the thing."""
            return Response()

    extend_schema_methods(
        cancel=extend_schema(
            operation_id="things_cancel", summary="Cancel a thing", responses=access_problems()
        )
    )(ThingViewSet)

    operation = _schema_of(ThingViewSet, {"put": "cancel"})["paths"]["/things/{id}/cancel"]["put"]
    assert operation["operationId"] == "things_cancel"
    assert operation["summary"] == "Cancel a thing"
    assert sorted(operation["responses"]) == ["401", "403", "429"]
    assert operation["responses"]["401"]["description"] == MSG_UNAUTHORIZED
    assert list(operation["responses"]["401"]["content"]) == ["application/problem+json"]


def test_a_method_the_view_does_not_define_is_refused() -> None:
    class ThingViewSet(ViewSet):
        def cancel(self, request: Request, id: str) -> Response:
            return Response()

    with pytest.raises(AttributeError, match="'cancle'"):
        extend_schema_methods(cancle=extend_schema(operation_id="things_cancel"))(ThingViewSet)


def test_a_method_only_inherited_is_refused_so_the_parent_view_is_not_changed() -> None:
    class BaseViewSet(ViewSet):
        def cancel(self, request: Request, id: str) -> Response:
            return Response()

    class ThingViewSet(BaseViewSet):
        pass

    with pytest.raises(AttributeError):
        extend_schema_methods(cancel=extend_schema(operation_id="things_cancel"))(ThingViewSet)
    assert not hasattr(BaseViewSet.cancel, "kwargs")
