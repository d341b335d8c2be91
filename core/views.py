from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.auth import ServiceOwner
from core.openapi import access_problems

_PROBLEM = inline_serializer(
    "WhoAmIProblem",
    {
        "type": serializers.CharField(),
        "title": serializers.CharField(),
        "status": serializers.IntegerField(),
        "detail": serializers.CharField(required=False),
    },
)


class WhoAmIView(APIView):
    """The creator and scopes the presented token authenticates as (for checking a token)."""

    @extend_schema(
        responses={
            200: inline_serializer(
                "WhoAmI",
                {
                    "creator": serializers.CharField(),
                    "scopes": serializers.ListField(child=serializers.CharField()),
                    "platformAccessToken": serializers.BooleanField(),
                },
            ),
            **access_problems(
                _PROBLEM,
                forbidden="The token lacks the notifications scope or the organisation claim.",
                throttled="Too many requests; see Retry-After.",
            ),
        }
    )
    def get(self, request: Request) -> Response:
        user = request.user
        assert isinstance(user, ServiceOwner)
        return Response(
            {"creator": user.org, "scopes": sorted(user.scopes), "platformAccessToken": user.platform}
        )
