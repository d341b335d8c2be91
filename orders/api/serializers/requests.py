"""The three v1 order requests: any channel (``POST /orders``), SMS and email, and the fields they share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.fields import empty

from orders import validation
from orders.api.fields import (
    EnumField,
    OffsetDateTimeField,
    RequiredTextField,
    StrictBooleanField,
    StrictCharField,
    refuse_too_late,
)
from orders.api.serializers.base import CollectingSerializer, limit_length, max_length_of
from orders.api.serializers.recipients import RecipientsField
from orders.api.serializers.stored import StoredEmailFields, StoredSmsFields
from orders.api.serializers.templates import (
    EmailTemplateSerializer,
    SmsTemplateSerializer,
    content_type_field,
    sender_number_field,
)
from orders.models import NotificationChannel, Order
from templates.records import EmailTemplateData, SmsTemplateData

# Declaration order of the reference's enums: an integer input n means values[n].
CHANNEL_VALUES = [choice.value for choice in NotificationChannel]
SEND_TIME_TOLERANCE_SECONDS = 5 * 60


class ConditionEndpointField(StrictCharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, allow_null=True, allow_blank=True, max_length=2000, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = str(super().to_internal_value(data))
        if not validation.is_valid_condition_endpoint(value):
            raise serializers.ValidationError(validation.MSG_INVALID_CONDITION_ENDPOINT)
        return value


MSG_INVALID_STATUS_CALLBACK_URL = "The status callback URL must be an absolute https URL."
MSG_INVALID_STATUS_CALLBACK_URL_HTTP = "The status callback URL must be an absolute http or https URL."


class StatusCallbackUrlField(StrictCharField):
    """``statusCallbackUrl``: an absolute https URL (http too when NOTIFICATIONS_CALLBACK_ALLOW_HTTP).

    Only the form is checked here; where it may lead is checked by the outbound guard at every delivery
    (the rules of condition endpoints), since a host name can resolve elsewhere later.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, allow_null=True, allow_blank=True, max_length=2000, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = str(super().to_internal_value(data))
        allow_http = settings.NOTIFICATIONS_CALLBACK_ALLOW_HTTP
        if not is_valid_status_callback_url(value, allow_http=allow_http):
            raise serializers.ValidationError(
                MSG_INVALID_STATUS_CALLBACK_URL_HTTP if allow_http else MSG_INVALID_STATUS_CALLBACK_URL
            )
        return value


def is_valid_status_callback_url(value: str, *, allow_http: bool) -> bool:
    """An absolute https URL (or http with ``allow_http``) with a host, a well-formed port, no padding."""
    schemes = ("https", "http") if allow_http else ("https",)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return False
    return parts.scheme in schemes and bool(parts.hostname) and value == value.strip()


class SendTimeField(OffsetDateTimeField):
    """``requestedSendTime``: with an offset, no more than five minutes in the past and no more than
    NOTIFICATIONS_MAX_SEND_AHEAD_DAYS ahead."""

    def to_internal_value(self, value: Any) -> Any:
        parsed = super().to_internal_value(value)
        if (timezone.now() - parsed).total_seconds() > SEND_TIME_TOLERANCE_SECONDS:
            raise serializers.ValidationError(validation.MSG_SEND_TIME_PASSED)
        refuse_too_late(parsed)
        return parsed


class OrderRequestBaseSerializer(CollectingSerializer):
    """Fields common to the three v1 order requests."""

    sendersReference = StrictCharField(
        source="senders_reference",
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="The sender's own reference (a case number or similar); need not be unique.",
    )
    requestedSendTime = SendTimeField(
        source="requested_send_time",
        required=False,
        allow_null=True,
        help_text="When to send, with an offset or Z; at most five minutes in the past and at most 3650 days "
        "(configurable) ahead. Default: now.",
    )
    conditionEndpoint = ConditionEndpointField(
        source="condition_endpoint",
        help_text="An absolute http(s) URL on a public host name, asked before sending whether to send.",
    )
    statusCallbackUrl = StatusCallbackUrlField(
        source="status_callback_url",
        help_text="An absolute https URL. Each final notification status and the order's completion are "
        "POSTed there as JSON, signed with HMAC-SHA256 in the X-Notifications-Signature header (see "
        "the pipeline docs' Status callbacks); retried with backoff for up to 24 hours.",
    )
    recipients = RecipientsField(help_text="One or more recipients.")
    ignoreReservation = StrictBooleanField(
        source="ignore_reservation",
        required=False,
        allow_null=True,
        help_text="Send to persons reserved against digital contact too (only for content that allows it).",
    )
    resourceId = StrictCharField(
        source="resource_id",
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=max_length_of(Order, "resource_id"),
        help_text="urn:altinn:resource:<id>, the Altinn resource the notifications relate to. Contact "
        "persons an organization registered are notified only when set, and only those authorised for "
        "resourceAction on it.",
    )
    resourceAction = StrictCharField(
        source="resource_action",
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=max_length_of(Order, "resource_action"),
        help_text="The action on the resource a recipient must be authorised for (default read); needs "
        "resourceId.",
    )

    # The channel the recipient rules are checked for (fixed for /orders/sms and /orders/email).
    recipient_channel: str | None = None
    # /orders/email answers an invalid email address with the recipient-level message (§1.3.1).
    address_errors_at_recipient = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit_length(
            self.fields["sendersReference"],
            min(
                settings.NOTIFICATIONS_MAX_SENDERS_REFERENCE_CHARS, max_length_of(Order, "senders_reference")
            ),
        )

    def cross_field_errors(self, data: Mapping[str, Any]) -> dict[str, list[str]]:
        """Rules over several fields, checked on the raw request so they show up beside field errors."""
        errors: dict[str, list[str]] = {}
        action = data.get("resourceAction")
        resource = data.get("resourceId")
        if isinstance(resource, str) and resource.strip() and not validation.is_valid_resource_id(resource):
            errors["resourceId"] = [validation.MSG_RESOURCE_ID_SYNTAX]
        if isinstance(action, str):
            if not action.strip():
                errors["resourceAction"] = [validation.MSG_RESOURCE_ACTION_BLANK]
            elif not isinstance(resource, str) or not resource.strip():
                errors["resourceAction"] = [validation.MSG_RESOURCE_ACTION_WITHOUT_RESOURCE]
        return errors

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for optional in (
            "senders_reference",
            "condition_endpoint",
            "status_callback_url",
            "resource_id",
            "resource_action",
        ):
            if attrs.get(optional) == "":
                attrs[optional] = None
        return attrs


@extend_schema_serializer(component_name="SmsNotificationOrder")
class SmsNotificationOrderRequestSerializer(StoredSmsFields, OrderRequestBaseSerializer):
    """An SMS order (POST /orders/sms): one text to every recipient (inline, or from a stored template)."""

    body = RequiredTextField(
        message=validation.MSG_SMS_TEMPLATE_BODY_EMPTY,
        help_text="The text. Keywords $recipientName$ and $recipientNumber$ are replaced per recipient.",
    )
    senderNumber = sender_number_field()

    recipient_channel = NotificationChannel.SMS
    template_text_fields = ("body", "senderNumber")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit_length(self.fields["body"], settings.NOTIFICATIONS_MAX_SMS_BODY_CHARS)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        attrs["notification_channel"] = NotificationChannel.SMS
        attrs["sms_template"] = self.stored_sms(attrs) or SmsTemplateData(
            body=attrs.pop("body"), sender_number=attrs.pop("sender_number", None) or None
        )
        return attrs


@extend_schema_serializer(component_name="EmailNotificationOrder")
class EmailNotificationOrderRequestSerializer(StoredEmailFields, OrderRequestBaseSerializer):
    """An email order (POST /orders/email): one email to every recipient (inline, or from a stored
    template, which may name its sender)."""

    subject = RequiredTextField(
        message=validation.MSG_EMAIL_SUBJECT_EMPTY, help_text="Line breaks are replaced by spaces."
    )
    body = RequiredTextField(message=validation.MSG_EMAIL_BODY_EMPTY, help_text="Plain text or HTML.")
    contentType = content_type_field()

    recipient_channel = NotificationChannel.EMAIL
    address_errors_at_recipient = True
    template_text_fields = ("subject", "body", "contentType")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit_length(self.fields["subject"], settings.NOTIFICATIONS_MAX_EMAIL_SUBJECT_CHARS)
        limit_length(self.fields["body"], settings.NOTIFICATIONS_MAX_EMAIL_BODY_CHARS)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        attrs["notification_channel"] = NotificationChannel.EMAIL
        attrs["email_template"] = self.stored_email(attrs) or EmailTemplateData(
            subject=validation.fold_subject_newlines(attrs.pop("subject")),
            body=attrs.pop("body"),
            content_type=attrs.pop("content_type", None) or "Plain",
        )
        return attrs


@extend_schema_serializer(component_name="NotificationOrder")
class NotificationOrderRequestSerializer(OrderRequestBaseSerializer):
    """An order for any channel (POST /orders), with the templates the channel needs."""

    notificationChannel = EnumField(
        CHANNEL_VALUES,
        source="notification_channel",
        error_messages={
            "required": validation.MSG_CHANNEL_REQUIRED,
            "null": validation.MSG_CHANNEL_REQUIRED,
            "invalid_choice": '"{input}" is not a valid value. Valid values: '
            + ", ".join(CHANNEL_VALUES)
            + ".",
        },
    )
    emailTemplate = EmailTemplateSerializer(
        source="email_template",
        required=False,
        allow_null=True,
        help_text="Required for Email, EmailPreferred, SmsPreferred and EmailAndSms.",
    )
    smsTemplate = SmsTemplateSerializer(
        source="sms_template",
        required=False,
        allow_null=True,
        help_text="Required for Sms, EmailPreferred, SmsPreferred and EmailAndSms.",
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # The recipient rules depend on the channel, so it is read before the recipients are validated.
        self.recipient_channel = None
        if isinstance(data, Mapping):
            try:
                self.recipient_channel = self.fields["notificationChannel"].run_validation(
                    data.get("notificationChannel", empty)
                )
            except serializers.ValidationError:
                pass  # reported with the other field errors
        attrs: dict[str, Any] = super().to_internal_value(data)
        return attrs

    def cross_field_errors(self, data: Mapping[str, Any]) -> dict[str, list[str]]:
        errors = super().cross_field_errors(data)
        channel = self.recipient_channel
        if channel in validation.EMAIL_TEMPLATE_CHANNELS and data.get("emailTemplate") is None:
            errors["emailTemplate"] = [validation.MSG_EMAIL_TEMPLATE_REQUIRED]
        if channel in validation.SMS_TEMPLATE_CHANNELS and data.get("smsTemplate") is None:
            errors["smsTemplate"] = [validation.MSG_SMS_TEMPLATE_REQUIRED]
        return errors
