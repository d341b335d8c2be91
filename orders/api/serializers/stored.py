"""Order texts from a stored template: ``templateId`` (optionally ``templateVersion``) with
``personalisation``, instead of the inline texts.

One small field set, mixed into every serializer that carries an order's texts: the v1 SMS and email
orders, ``emailTemplate`` / ``smsTemplate`` of ``POST /orders``, and ``emailSettings`` / ``smsSettings`` of
the future API. Exactly one of the two ways is allowed; the template is read with the caller's creator
(another creator's template is not found), filled in here and then registered like inline text, so the
pipeline sends it unchanged (``$recipientName$`` and ``$recipientNumber$`` still substituted per
recipient). The order's text row records the template version it was rendered from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from django.conf import settings
from rest_framework import serializers
from rest_framework.request import Request

from core.auth import creator_of
from orders import validation
from orders.api.fields import StrictCharField
from orders.api.serializers.base import CollectingSerializer
from templates.models import TemplateType
from templates.records import EmailTemplateData, SmsTemplateData
from templates.rendering import Rendered, template_render
from templates.selectors import template_get

MSG_TEMPLATE_NOT_FOUND = "No template with this id was found."
MSG_TEMPLATE_VERSION_NOT_FOUND = "The template has no version {version}."
MSG_TEMPLATE_WRONG_TYPE = "The template is an {actual} template; this text needs an {expected} template."
MSG_TEMPLATE_AND_TEXT = "Give either templateId or the inline texts ({fields}), not both."
MSG_NEEDS_TEMPLATE_ID = "Only allowed together with templateId."
MSG_PERSONALISATION_MISSING = "The template needs a value for this personalisation field."
MSG_RENDERED_TOO_LONG = "The {what} filled in with the personalisation is longer than {limit} characters."
MSG_NOT_A_POSITIVE_INTEGER = "Must be a whole number of at least 1."


class TemplateVersionField(serializers.IntegerField):
    default_error_messages = {"invalid": MSG_NOT_A_POSITIVE_INTEGER}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int) or data < 1:
            self.fail("invalid")
        return int(data)


class StoredTemplateFields(CollectingSerializer):
    # No docstring: drf-spectacular would take it as the description of every serializer it is mixed into.

    templateId = serializers.UUIDField(
        required=False,
        allow_null=True,
        write_only=True,
        help_text="A stored template of the caller (GET /templates), instead of the inline texts.",
    )
    templateVersion = TemplateVersionField(
        required=False,
        allow_null=True,
        write_only=True,
        help_text="The template version to use. Default: the current version.",
    )
    personalisation = serializers.DictField(
        child=StrictCharField(allow_blank=True),
        required=False,
        allow_null=True,
        write_only=True,
        help_text="A text for each ((field)) of the template; every field needs one. Html bodies get the "
        "values HTML-escaped.",
    )

    # Which kind of template the texts come from, and the JSON names of the inline texts (and their
    # options) a template replaces.
    template_type: ClassVar[str]
    template_text_fields: ClassVar[tuple[str, ...]]

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("templateId") is not None:
            for name in self.template_text_fields:
                if name in self.fields:
                    self.fields[name].required = False
        return super().to_internal_value(data)

    def cross_field_errors(self, data: Mapping[str, Any]) -> dict[str, list[str]]:
        errors = super().cross_field_errors(data)
        if data.get("templateId") is not None:
            given = [name for name in self.template_text_fields if data.get(name) is not None]
            if given:
                message = MSG_TEMPLATE_AND_TEXT.format(fields=", ".join(given))
                errors.setdefault("templateId", []).append(message)
        else:
            for name in ("templateVersion", "personalisation"):
                if data.get(name) is not None:
                    errors.setdefault(name, []).append(MSG_NEEDS_TEMPLATE_ID)
        return errors

    def _rendered(self, attrs: dict[str, Any]) -> Rendered | None:
        template_id = attrs.pop("templateId", None)
        version = attrs.pop("templateVersion", None)
        values = attrs.pop("personalisation", None) or {}
        if template_id is None:
            return None
        request = self.context.get("request")
        creator = creator_of(request) if isinstance(request, Request) else None
        found = None
        if creator is not None:
            found = template_get(template_id=template_id, creator=creator, version=version)
            if found is None and version is not None:
                if template_get(template_id=template_id, creator=creator) is not None:
                    message = MSG_TEMPLATE_VERSION_NOT_FOUND.format(version=version)
                    raise serializers.ValidationError({"templateVersion": [message]})
        if found is None:
            raise serializers.ValidationError({"templateId": [MSG_TEMPLATE_NOT_FOUND]})
        if found.template.type != self.template_type:
            message = MSG_TEMPLATE_WRONG_TYPE.format(actual=found.template.type, expected=self.template_type)
            raise serializers.ValidationError({"templateId": [message]})
        rendered = template_render(found, values)
        if rendered.missing:
            raise serializers.ValidationError(
                {"personalisation": {name: [MSG_PERSONALISATION_MISSING] for name in rendered.missing}}
            )
        return rendered

    def _refuse_too_long(self, text: str, *, what: str, limit: int) -> None:
        if len(text) > limit:
            message = MSG_RENDERED_TOO_LONG.format(what=what, limit=limit)
            raise serializers.ValidationError({"personalisation": [message]})

    def stored_email(self, attrs: dict[str, Any]) -> EmailTemplateData | None:
        """The email from the named template, filled in; ``None`` without ``templateId``. Pops the
        template's fields from ``attrs`` either way."""
        rendered = self._rendered(attrs)
        if rendered is None:
            return None
        data = rendered.email_data()
        self._refuse_too_long(data.body, what="body", limit=settings.NOTIFICATIONS_MAX_EMAIL_BODY_CHARS)
        subject = validation.fold_subject_newlines(data.subject)
        self._refuse_too_long(subject, what="subject", limit=settings.NOTIFICATIONS_MAX_EMAIL_SUBJECT_CHARS)
        return replace(data, subject=subject)

    def stored_sms(self, attrs: dict[str, Any]) -> SmsTemplateData | None:
        """The SMS from the named template, filled in; ``None`` without ``templateId``."""
        rendered = self._rendered(attrs)
        if rendered is None:
            return None
        data = rendered.sms_data()
        self._refuse_too_long(data.body, what="body", limit=settings.NOTIFICATIONS_MAX_SMS_BODY_CHARS)
        return data


class StoredEmailFields(StoredTemplateFields):
    template_type = TemplateType.EMAIL


class StoredSmsFields(StoredTemplateFields):
    template_type = TemplateType.SMS
