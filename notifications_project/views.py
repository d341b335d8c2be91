from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications_project.auth import ServiceOwner


class WhoAmIView(APIView):
    """The creator and scopes the presented token authenticates as (for checking a token)."""

    @extend_schema(
        responses=inline_serializer(
            "WhoAmI",
            {
                "creator": serializers.CharField(),
                "scopes": serializers.ListField(child=serializers.CharField()),
                "platformAccessToken": serializers.BooleanField(),
            },
        )
    )
    def get(self, request: Request) -> Response:
        user = request.user
        assert isinstance(user, ServiceOwner)
        return Response(
            {"creator": user.org, "scopes": sorted(user.scopes), "platformAccessToken": user.platform}
        )
