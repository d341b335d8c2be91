"""The email and SMS texts of a v1 order, in requests and responses."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from orders import validation
from orders.api.fields import EnumField, RequiredTextField, SenderField
from orders.api.serializers.base import OmitNullSerializer, limit_length, max_length_of
from orders.api.serializers.stored import StoredEmailFields, StoredSmsFields
from templates.models import EmailTemplate, SmsTemplate
from templates.records import EmailTemplateData, SmsTemplateData

CONTENT_TYPE_VALUES = ["Plain", "Html"]


def sender_number_field() -> SenderField:
    return SenderField(
        rule=validation.is_valid_sms_sender,
        message=validation.MSG_INVALID_SMS_SENDER,
        source="sender_number",
        max_length=max_length_of(SmsTemplate, "sender_number"),
        help_text="The sender shown to the recipient (trimmed): a number of at most 15 digits, optionally "
        "starting with +, or a name of at most 11 GSM letters, digits and spaces. Default: Altinn "
        "(configurable).",
    )


def content_type_field() -> EnumField:
    return EnumField(CONTENT_TYPE_VALUES, source="content_type", required=False, allow_null=True)


class EmailTemplateSerializer(StoredEmailFields, OmitNullSerializer):
    """The email of an order: the texts, or a stored template (templateId) with its personalisation."""

    template_text_fields = ("fromAddress", "subject", "body", "contentType")

    fromAddress = SenderField(
        rule=validation.is_valid_sender_email,
        message=validation.MSG_INVALID_SENDER_EMAIL,
        source="from_address",
        max_length=max_length_of(EmailTemplate, "from_address"),
        help_text="The sender address, one address without a display name (trimmed). Default: the "
        "service's configured address.",
    )
    subject = RequiredTextField(
        message=validation.MSG_EMAIL_TEMPLATE_SUBJECT_EMPTY, help_text="Line breaks are replaced by spaces."
    )
    body = RequiredTextField(
        message=validation.MSG_EMAIL_TEMPLATE_BODY_EMPTY, help_text="Plain text or HTML."
    )
    contentType = content_type_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit_length(self.fields["subject"], settings.NOTIFICATIONS_MAX_EMAIL_SUBJECT_CHARS)
        limit_length(self.fields["body"], settings.NOTIFICATIONS_MAX_EMAIL_BODY_CHARS)

    def validate(self, attrs: dict[str, Any]) -> EmailTemplateData:
        from_address = attrs.get("from_address")
        return self.stored_email(attrs) or EmailTemplateData(
            subject=validation.fold_subject_newlines(attrs["subject"]),
            body=attrs["body"],
            content_type=attrs.get("content_type") or "Plain",
            from_address=from_address.strip() if from_address and from_address.strip() else None,
        )


class SmsTemplateSerializer(StoredSmsFields, OmitNullSerializer):
    """The SMS of an order: the text, or a stored template (templateId) with its personalisation."""

    template_text_fields = ("senderNumber", "body")

    senderNumber = sender_number_field()
    body = RequiredTextField(
        message=validation.MSG_SMS_TEMPLATE_BODY_EMPTY,
        help_text="The text. Keywords $recipientName$ and $recipientNumber$ are replaced per recipient.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit_length(self.fields["body"], settings.NOTIFICATIONS_MAX_SMS_BODY_CHARS)

    def validate(self, attrs: dict[str, Any]) -> SmsTemplateData:
        return self.stored_sms(attrs) or SmsTemplateData(
            body=attrs["body"], sender_number=attrs.get("sender_number") or None
        )
