"""The composed email request (``POST /future/orders/composed-email``): the reference's rules and messages
(§1.7), with a link to any allowed HTTPS host in ``url`` where the reference takes only its blob store's
signed ``sasUrl``, and limits on the number of attachments and the length of a file name.

Attachment rules are checked on the raw item so every message can name the file
(``Attachment 'report.pdf': mimeType is not supported.``), under the JSON path of its field
(``recipient.emailSettings.attachments[0].mimeType``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from django.conf import settings
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.fields import empty

from orders.api.fields import StrictCharField
from orders.api.future.serializers.fields import (
    MSG_SEND_TIME_PASSED,
    ConditionEndpointV2Field,
    SendersReferenceField,
    SendTimeV2Field,
    email_address_field,
    idempotency_id_field,
    validated_email,
)
from orders.api.future.serializers.recipients import EmailSettingsSerializer
from orders.api.future.serializers.requests import DialogportenAssociationSerializer
from orders.api.serializers.base import CollectingSerializer, max_length_of
from orders.attachment_rules import host_is_allowed, mime_type_is_allowed
from orders.composed import AttachmentData, ComposedEmailRequest
from orders.models import EmailAttachment
from templates.records import EmailTemplateData

MSG_RECIPIENT_NULL = "Recipient email object cannot be null."
MSG_SETTINGS_NULL = "Recipient email settings cannot be null."
MSG_ATTACHMENT_NULL = "Attachment item must not be null."
MSG_FILENAME_EMPTY = "Attachment filename must not be empty."
MSG_FILENAME_INVALID = (
    "Attachment '{name}': filename must not contain path separators, and must include a file extension."
)
MSG_FILENAME_CONTROL = "Attachment '{name}': filename must not contain control characters."
MSG_FILENAME_LONG = "Attachment '{name}': filename must be at most {limit} characters."
MSG_URL_NULL = "Attachment '{name}': url must not be null."
MSG_URL_HTTPS = "Attachment '{name}': url must be an absolute HTTPS URI."
MSG_URL_HOST = "Attachment '{name}': url host is not allowed."
MSG_MIME_EMPTY = "Attachment '{name}': mimeType must not be empty."
MSG_MIME_UNSUPPORTED = "Attachment '{name}': mimeType is not supported."
MSG_TOO_MANY = "An email can have at most {max_length} attachments."
FILENAME_MAX = max_length_of(EmailAttachment, "filename")
MIME_TYPE_MAX = max_length_of(EmailAttachment, "mime_type")


def _is_https_url(value: str) -> bool:
    try:
        url = httpx.URL(value)
    except (httpx.InvalidURL, TypeError):
        return False
    return url.scheme == "https" and bool(url.host) and value.strip() == value


def _filename_errors(name: Any) -> list[str]:
    if name is None or name == "":
        return [MSG_FILENAME_EMPTY]
    if not isinstance(name, str):
        return []  # the field itself says it is not a string
    if len(name) > FILENAME_MAX:
        return [MSG_FILENAME_LONG.format(name=name[:40] + "...", limit=FILENAME_MAX)]
    # A line break in a name would end up in a MIME header.
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        return [MSG_FILENAME_CONTROL.format(name=name.encode("unicode_escape").decode())]
    stem, dot, extension = name.rpartition(".")
    if "/" in name or "\\" in name or not dot or not extension or not stem:
        return [MSG_FILENAME_INVALID.format(name=name)]
    return []


class AttachmentSerializer(CollectingSerializer):
    """A file to attach: fetched from ``url`` with GET when the email is sent, not when it is ordered."""

    filename = StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="The name the recipient sees, with an extension and without / or \\; at most 255 "
        "characters.",
    )
    mimeType = StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="The file's type, one of NOTIFICATIONS_ATTACHMENT_MIME_TYPES (by default the 60 types "
        "the reference accepts, text/html not among them); any case.",
    )
    url = StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="An absolute https link the file can be fetched from until the email is sent (a signed "
        "link, for instance), on a host of NOTIFICATIONS_ATTACHMENT_ALLOWED_HOSTS when that is set.",
    )

    def run_validation(self, data: Any = empty) -> Any:
        if data is None:
            raise serializers.ValidationError([MSG_ATTACHMENT_NULL])
        return super().run_validation(data)

    def cross_field_errors(self, data: Mapping[str, Any]) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        raw_name = data.get("filename")
        name = raw_name if isinstance(raw_name, str) else ""
        if messages := _filename_errors(raw_name):
            errors["filename"] = messages
        url = data.get("url")
        if url is None:
            errors["url"] = [MSG_URL_NULL.format(name=name)]
        elif isinstance(url, str):
            if not _is_https_url(url):
                errors["url"] = [MSG_URL_HTTPS.format(name=name)]
            elif not host_is_allowed(httpx.URL(url).host):
                errors["url"] = [MSG_URL_HOST.format(name=name)]
        mime_type = data.get("mimeType")
        if mime_type is None or mime_type == "":
            errors["mimeType"] = [MSG_MIME_EMPTY.format(name=name)]
        elif isinstance(mime_type, str) and (
            len(mime_type) > MIME_TYPE_MAX or not mime_type_is_allowed(mime_type)
        ):
            errors["mimeType"] = [MSG_MIME_UNSUPPORTED.format(name=name)]
        return errors

    def validate(self, attrs: dict[str, Any]) -> AttachmentData:
        return AttachmentData(filename=attrs["filename"], mime_type=attrs["mimeType"], url=attrs["url"])


@extend_schema_serializer(component_name="ComposedEmailSettings")
class ComposedEmailSettingsSerializer(EmailSettingsSerializer):
    """The email (as in every future order) and its attachments."""

    attachments = AttachmentSerializer(
        many=True,
        required=False,
        allow_null=True,
        help_text="At most 10 (NOTIFICATIONS_ATTACHMENT_MAX_COUNT); fetched when the email is sent.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        attachments = self.fields["attachments"]
        assert isinstance(attachments, serializers.ListSerializer)
        # Checked before any item is validated; read per instance so an override applies at once.
        attachments.max_length = settings.NOTIFICATIONS_ATTACHMENT_MAX_COUNT  # type: ignore[attr-defined]
        attachments.error_messages["max_length"] = MSG_TOO_MANY

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:  # type: ignore[override]
        template: EmailTemplateData = super().validate(attrs)
        return {"template": template, "attachments": list(attrs.get("attachments") or [])}


class ComposedEmailRecipientSerializer(serializers.Serializer[Any]):
    """The one address the email goes to, and the email."""

    emailAddress = email_address_field()
    emailSettings = ComposedEmailSettingsSerializer(
        error_messages={"required": MSG_SETTINGS_NULL, "null": MSG_SETTINGS_NULL}
    )

    def validate_emailAddress(self, value: str) -> str:
        return validated_email(value)


@extend_schema_serializer(component_name="ComposedEmailOrderRequest")
class ComposedEmailOrderRequestSerializer(CollectingSerializer):
    """One email with attachments to one address; no contact lookup, no reminders, no keywords."""

    idempotencyId = idempotency_id_field()
    sendersReference = SendersReferenceField()
    requestedSendTime = SendTimeV2Field(
        passed_message=MSG_SEND_TIME_PASSED,
        help_text="When to send, with an offset or Z; not in the past. Default: now. The attachment links "
        "must still work then.",
    )
    conditionEndpoint = ConditionEndpointV2Field()
    dialogportenAssociation = DialogportenAssociationSerializer(required=False, allow_null=True)
    recipient = ComposedEmailRecipientSerializer(
        error_messages={"required": MSG_RECIPIENT_NULL, "null": MSG_RECIPIENT_NULL}
    )

    def validate(self, attrs: dict[str, Any]) -> ComposedEmailRequest:
        recipient = attrs["recipient"]
        email = recipient["emailSettings"]
        return ComposedEmailRequest(
            idempotency_id=attrs["idempotencyId"],
            email_address=recipient["emailAddress"],
            email=email["template"],
            attachments=email["attachments"],
            senders_reference=attrs.get("sendersReference") or None,
            condition_endpoint=attrs.get("conditionEndpoint") or None,
            requested_send_time=attrs.get("requestedSendTime"),
        )
