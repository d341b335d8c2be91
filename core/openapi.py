"""OpenAPI parts every API module shares: the problem-details body and the answers of access control.

Every authenticated operation can be refused before its view runs: 401 without a valid token, 403 without
the scope or claim, 429 when the creator is throttled. ``access_problems`` describes those three once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.views import APIView

from core.problem_codes import CODES, REGISTRY
from core.problems import PROBLEM_CONTENT_TYPE

MSG_UNAUTHORIZED = "The token is missing, invalid or expired."
MSG_FORBIDDEN = (
    "The token lacks the scope altinn:serviceowner/notifications.create or the organisation claim, and "
    "no valid platform access token was sent."
)
MSG_THROTTLED = "Too many requests from this creator; see Retry-After."


PROBLEM_CODE_HELP = "The problem's stable machine-readable code: " + "; ".join(
    f"{entry.code} {entry.status} {entry.title}" for entry in REGISTRY
)


def problem_code_field() -> serializers.ChoiceField:
    """``code``: one of the registry's codes (core/problem_codes.py), listed as the schema's enum."""
    return serializers.ChoiceField(choices=CODES, help_text=PROBLEM_CODE_HELP)


class ProblemSerializer(serializers.Serializer[Any]):
    """Problem details (RFC 9457), served as application/problem+json."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    code = problem_code_field()
    detail = serializers.CharField(required=False)


class ValidationProblemSerializer(ProblemSerializer):
    """A 400: ``errors`` maps the JSON path of each offending field (``recipients[0].mobileNumber``;
    ``""`` for the request as a whole) to its messages. At most 100 paths are listed; ``""`` then says
    how many more errors there were, or which recipients were not checked."""

    # The metaclass moves declared fields off the class, so this does not shadow Serializer.errors.
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))  # type: ignore[assignment]


def access_problems(
    problem: Any = ProblemSerializer,
    *,
    forbidden: str = MSG_FORBIDDEN,
    throttled: str = MSG_THROTTLED,
) -> dict[Any, OpenApiResponse]:
    """The 401, 403 and 429 answers of an authenticated operation, as problem details (``problem``)."""
    return {
        (401, PROBLEM_CONTENT_TYPE): OpenApiResponse(problem, MSG_UNAUTHORIZED),
        (403, PROBLEM_CONTENT_TYPE): OpenApiResponse(problem, forbidden),
        (429, PROBLEM_CONTENT_TYPE): OpenApiResponse(problem, throttled),
    }


_View = TypeVar("_View", bound=type[APIView])


def extend_schema_methods(**operations: Callable[[Any], Any]) -> Callable[[_View], _View]:
    """Apply each ``extend_schema(...)`` to the view method of that name, so a view module shows the
    request flow and its OpenAPI metadata lives in a ``schema`` module beside it.

    drf-spectacular's ``extend_schema_view`` skips methods that are neither HTTP verbs nor ``@action``s
    (``create_email``, ``cancel``); this takes any method the view defines itself, and refuses a name it
    does not define, so a renamed method cannot silently lose its documentation.
    """

    def decorate(view: _View) -> _View:
        for name, schema in operations.items():
            if name not in view.__dict__:
                raise AttributeError(f"{view.__name__} defines no method {name!r} to describe")
            setattr(view, name, schema(view.__dict__[name]))
        return view

    return decorate
