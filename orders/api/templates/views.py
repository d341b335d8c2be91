"""The stored-templates API: thin viewsets over templates.store (writes) and templates.selectors (reads).

Every query is scoped to the caller's creator: another creator's template, like an archived one, answers
exactly like an unknown id (404 problem details). The OpenAPI description is in ``schema`` beside this.
"""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from core.auth import creator_of
from core.problems import problem_response
from orders.api.base import ApiViewSet, json_body
from orders.api.output.orders import API_PATH
from orders.api.templates import schema
from orders.api.templates.serializers import (
    PreviewRequestSerializer,
    SmsPreviewSerializer,
    TemplateListSerializer,
    TemplateRequestSerializer,
    TemplateSerializer,
    TemplateVersionListSerializer,
)
from templates.models import StoredTemplateVersion, TemplateType
from templates.rendering import template_render
from templates.selectors import template_get, template_list, template_versions
from templates.sms import sms_length
from templates.store import template_archive, template_create, template_update

MSG_INVALID_ID = "The template id must be a UUID."
MSG_INVALID_VERSION = "The version must be a whole number of at least 1."
MSG_NOT_FOUND = "No template with this id was found."
MSG_VERSION_NOT_FOUND = "The template has no version {version}."


def _template_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise serializers.ValidationError({"id": [MSG_INVALID_ID]}) from None


def _version_number(raw: str | None, name: str) -> int | None:
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
        raise serializers.ValidationError({name: [MSG_INVALID_VERSION]})
    return int(raw)


def _not_found(detail: str = MSG_NOT_FOUND) -> Response:
    return problem_response(status.HTTP_404_NOT_FOUND, "Not Found", detail=detail)


def template_url(template_id: object) -> str:
    return f"{settings.NOTIFICATIONS_BASE_URI}{API_PATH}/templates/{template_id}"


def _version_or_404(request: Request, id: str, version: int | None) -> StoredTemplateVersion | Response:
    template_id = _template_id(id)
    creator = creator_of(request)
    found = template_get(template_id=template_id, creator=creator, version=version)
    if found is not None:
        return found
    if version is not None and template_get(template_id=template_id, creator=creator) is not None:
        return _not_found(MSG_VERSION_NOT_FOUND.format(version=version))
    return _not_found()


@schema.templates_schema
class TemplateViewSet(ApiViewSet):
    """Stored email and SMS templates of the caller, each change a new version."""

    def list_templates(self, request: Request) -> Response:
        """The caller's templates (their current versions), newest first."""
        templates = template_list(creator=creator_of(request))
        return Response(TemplateListSerializer({"count": len(templates), "templates": templates}).data)

    def create(self, request: Request) -> Response:
        """Store a new template as its version 1."""
        serializer = TemplateRequestSerializer(data=json_body(request, what="template"))
        serializer.is_valid(raise_exception=True)
        kind, content = serializer.validated_data
        version = template_create(creator=creator_of(request), type=kind, content=content)
        return Response(
            TemplateSerializer(version).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": template_url(version.template_id)},
        )

    def retrieve(self, request: Request, id: str) -> Response:
        """The template's current version."""
        found = _version_or_404(request, id, None)
        if isinstance(found, Response):
            return found
        return Response(TemplateSerializer(found).data)

    def update(self, request: Request, id: str) -> Response:
        """Replace the template's content: a new version (none when nothing changed)."""
        current = _version_or_404(request, id, None)
        if isinstance(current, Response):
            return current
        serializer = TemplateRequestSerializer(
            data=json_body(request, what="template"), context={"type": current.template.type}
        )
        serializer.is_valid(raise_exception=True)
        _, content = serializer.validated_data
        version = template_update(
            template_id=current.template_id, creator=creator_of(request), content=content
        )
        if version is None:  # archived meanwhile
            return _not_found()
        return Response(TemplateSerializer(version).data)

    def destroy(self, request: Request, id: str) -> Response:
        """Archive the template; orders already made from it are not affected."""
        if not template_archive(template_id=_template_id(id), creator=creator_of(request)):
            return _not_found()
        return Response(status=status.HTTP_204_NO_CONTENT)

    def versions(self, request: Request, id: str) -> Response:
        """Every version of the template, oldest first."""
        versions = template_versions(template_id=_template_id(id), creator=creator_of(request))
        if not versions:
            return _not_found()
        return Response(TemplateVersionListSerializer({"count": len(versions), "versions": versions}).data)

    def version(self, request: Request, id: str, number: int) -> Response:
        """One version of the template."""
        found = _version_or_404(request, id, number)
        if isinstance(found, Response):
            return found
        return Response(TemplateSerializer(found).data)

    def preview(self, request: Request, id: str) -> Response:
        """The template filled in with the given values, as an order would send it."""
        version = _version_number(request.query_params.get("version"), "version")
        found = _version_or_404(request, id, version)
        if isinstance(found, Response):
            return found
        serializer = PreviewRequestSerializer(data=json_body(request, what="request"))
        serializer.is_valid(raise_exception=True)
        rendered = template_render(found, serializer.validated_data.get("personalisation") or {})
        is_sms = found.template.type == TemplateType.SMS
        body = {
            "templateId": str(found.template_id),
            "version": found.number,
            "type": found.template.type,
            "subject": None if is_sms else rendered.subject,
            "body": rendered.body,
            "contentType": None if is_sms else found.content_type,
            "sms": SmsPreviewSerializer(sms_length(rendered.body)).data if is_sms else None,
            "missingPersonalisation": rendered.missing,
            "unusedPersonalisation": rendered.unused,
        }
        return Response({key: value for key, value in body.items() if value is not None})
