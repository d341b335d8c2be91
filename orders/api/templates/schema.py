"""OpenAPI metadata of the stored-templates API (``orders.api.templates.views``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema

from core.openapi import (
    ProblemSerializer,
    ValidationProblemSerializer,
    access_problems,
    extend_schema_methods,
)
from core.problems import PROBLEM_CONTENT_TYPE
from orders.api.templates import examples
from orders.api.templates.serializers import (
    PreviewRequestSerializer,
    PreviewSerializer,
    TemplateListSerializer,
    TemplateRequestSerializer,
    TemplateSerializer,
    TemplateVersionListSerializer,
)

PROBLEM = PROBLEM_CONTENT_TYPE
TAGS = ["Templates"]

_COMMON: dict[Any, Any] = {
    **access_problems(),
    (503, PROBLEM): OpenApiResponse(ProblemSerializer, "The database is unavailable; retry later."),
}
_NOT_FOUND = {
    (404, PROBLEM): OpenApiResponse(
        ProblemSerializer,
        "No template with this id for the caller (unknown, archived, or another creator's).",
        examples=examples.NOT_FOUND,
    )
}
_BAD_ID = {(400, PROBLEM): OpenApiResponse(ValidationProblemSerializer, "The id is not a UUID.")}
_BAD_BODY = {
    (400, PROBLEM): OpenApiResponse(
        ValidationProblemSerializer,
        "The request is invalid; every error is listed under the JSON path of its field.",
        examples=examples.VALIDATION_PROBLEMS,
    ),
    (413, PROBLEM): OpenApiResponse(
        ProblemSerializer, "The request body is larger than the configured limit."
    ),
    (415, PROBLEM): OpenApiResponse(ProblemSerializer, "The body is not sent as application/json."),
}
_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The template's id.")
_LOCATION = OpenApiParameter(
    "Location", OpenApiTypes.URI, OpenApiParameter.HEADER, response=[201], description="The new template."
)
_TEMPLATE_TEXT = (
    "A template is an email (subject, body, Plain or Html, optional sender) or an SMS (body, optional "
    "sender) with a name. Personalisation fields are written ((name)) in the subject and body; the "
    "keywords $recipientName$ and $recipientNumber$ work as in inline texts. Orders name a template with "
    "templateId (and optionally templateVersion) and give personalisation instead of the texts."
)

templates_schema = extend_schema_methods(
    list_templates=extend_schema(
        operation_id="templates_list",
        summary="List the caller's templates",
        description="The current version of each of the caller's templates, newest first; archived "
        "templates are left out.",
        tags=TAGS,
        responses={
            200: OpenApiResponse(TemplateListSerializer, "The templates.", examples=examples.TEMPLATE_LIST),
            **_COMMON,
        },
    ),
    create=extend_schema(
        operation_id="templates_create",
        summary="Store a template",
        description=_TEMPLATE_TEXT,
        tags=TAGS,
        request=TemplateRequestSerializer,
        parameters=[_LOCATION],
        examples=examples.TEMPLATE_REQUESTS,
        responses={
            201: OpenApiResponse(TemplateSerializer, "Stored as version 1.", examples=examples.TEMPLATES),
            **_BAD_BODY,
            **_COMMON,
        },
    ),
    retrieve=extend_schema(
        operation_id="templates_retrieve",
        summary="Read a template",
        description="The template's current version.",
        tags=TAGS,
        parameters=[_ID],
        responses={
            200: OpenApiResponse(TemplateSerializer, "The current version.", examples=examples.TEMPLATES),
            **_BAD_ID,
            **_NOT_FOUND,
            **_COMMON,
        },
    ),
    update=extend_schema(
        operation_id="templates_update",
        summary="Change a template (a new version)",
        description="The body replaces the template's content as a new version; earlier versions stay "
        "readable and orders keep the version they were made from. The type cannot change (type may be "
        "left out). A body equal to the current version makes no new version.",
        tags=TAGS,
        parameters=[_ID],
        request=TemplateRequestSerializer,
        examples=examples.TEMPLATE_REQUESTS,
        responses={
            200: OpenApiResponse(TemplateSerializer, "The new current version.", examples=examples.TEMPLATES),
            **_BAD_BODY,
            **_NOT_FOUND,
            **_COMMON,
        },
    ),
    destroy=extend_schema(
        operation_id="templates_destroy",
        summary="Archive a template",
        description="The template disappears from the API and new orders cannot name it; orders already "
        "made from it are sent as registered, and staff still see it in the admin.",
        tags=TAGS,
        parameters=[_ID],
        responses={204: OpenApiResponse(description="Archived."), **_BAD_ID, **_NOT_FOUND, **_COMMON},
    ),
    versions=extend_schema(
        operation_id="templates_versions_list",
        summary="List a template's versions",
        tags=TAGS,
        parameters=[_ID],
        responses={
            200: OpenApiResponse(
                TemplateVersionListSerializer, "Every version.", examples=examples.VERSION_LIST
            ),
            **_BAD_ID,
            **_NOT_FOUND,
            **_COMMON,
        },
    ),
    version=extend_schema(
        operation_id="templates_versions_retrieve",
        summary="Read one version of a template",
        tags=TAGS,
        parameters=[
            _ID,
            OpenApiParameter(
                "number",
                {"type": "integer", "minimum": 1},
                OpenApiParameter.PATH,
                description="The version's number.",
            ),
        ],
        responses={
            200: OpenApiResponse(TemplateSerializer, "The version.", examples=examples.TEMPLATES),
            (400, PROBLEM): OpenApiResponse(ValidationProblemSerializer, "The id or number is malformed."),
            **_NOT_FOUND,
            **_COMMON,
        },
    ),
    preview=extend_schema(
        operation_id="templates_preview",
        summary="Preview a template with personalisation values",
        description="The subject and body filled in with the values (Html bodies with every value "
        "HTML-escaped), the fields without a value (left as written) and the values no field uses; for SMS "
        "the encoding, part count and characters left in the last part. $recipientName$ and "
        "$recipientNumber$ stay as written: they are substituted per recipient when sent.",
        tags=TAGS,
        parameters=[
            _ID,
            OpenApiParameter(
                "version",
                {"type": "integer", "minimum": 1},
                OpenApiParameter.QUERY,
                description="The version to preview. Default: the current version.",
            ),
        ],
        request=PreviewRequestSerializer,
        examples=examples.PREVIEW_REQUESTS,
        responses={
            200: OpenApiResponse(PreviewSerializer, "The preview.", examples=examples.PREVIEWS),
            **_BAD_BODY,
            **_NOT_FOUND,
            **_COMMON,
        },
    ),
)
