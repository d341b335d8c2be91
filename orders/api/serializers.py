"""Request serializers of the v1 orders API (JSON in camelCase, as the reference).

They apply the reference's rules and messages (``orders.validation``) and report every error of a request
at once, keyed by JSON path (``recipients[0].mobileNumber``). The response serializers are in ``output``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.fields import empty

from core.problems import MAX_LISTED_ERRORS, not_listed
from orders import validation
from orders.api.fields import (
    MSG_NOT_A_STRING,
    EnumField,
    OffsetDateTimeField,
    RequiredTextField,
    SenderField,
    StrictBooleanField,
    StrictCharField,
    refuse_too_late,
)
from orders.models import NotificationChannel, Order, Recipient
from orders.services import EmailTemplateData, RecipientData, SmsTemplateData
from templates.models import EmailTemplate, SmsTemplate

# Declaration order of the reference's enums: an integer input n means values[n].
CHANNEL_VALUES = [choice.value for choice in NotificationChannel]
CONTENT_TYPE_VALUES = ["Plain", "Html"]
SEND_TIME_TOLERANCE_SECONDS = 5 * 60


def _not_checked_message(count: int, index: int) -> str:
    if count == 1:
        return f"The recipient after recipients[{index}] was not checked."
    return f"The {count} recipients after recipients[{index}] were not checked."


def _limit(field: serializers.Field[Any, Any, Any, Any], max_length: int) -> None:
    # Limits from settings are applied per serializer instance, so an override takes effect at once.
    field.validators.append(MaxLengthValidator(max_length))


def _max_length(model: Any, name: str) -> int:
    length = model._meta.get_field(name).max_length
    assert isinstance(length, int)
    return length


# --- Recipients ------------------------------------------------------------------------------------

# JSON name -> longest value accepted. The limits keep a stored address within its column; the exact
# identifier formats (9 or 11 digits) are checked by orders.validation with the reference's messages.
_RECIPIENT_MAX_LENGTHS = {
    "emailAddress": _max_length(Recipient, "email_address"),
    "mobileNumber": _max_length(Recipient, "mobile_number"),
    "organizationNumber": 100,
    "nationalIdentityNumber": 100,
}


class RecipientSerializer(serializers.Serializer[Recipient]):
    """A recipient: a national identity number, an organization number, or an email address and/or a
    mobile number with country code. Responses show it as registered (looked-up addresses never appear)."""

    emailAddress = serializers.CharField(required=False, max_length=_RECIPIENT_MAX_LENGTHS["emailAddress"])
    mobileNumber = serializers.CharField(required=False, max_length=_RECIPIENT_MAX_LENGTHS["mobileNumber"])
    organizationNumber = serializers.CharField(required=False, min_length=9, max_length=9)
    nationalIdentityNumber = serializers.CharField(required=False, min_length=11, max_length=11)
    isReserved = serializers.BooleanField(
        required=False,
        help_text="In responses, for persons: reserved against digital contact at registration. Ignored in "
        "requests.",
    )

    def to_representation(self, instance: Recipient) -> dict[str, Any]:
        # Built directly: an order can hold 100,000 recipients.
        data = {
            "emailAddress": instance.email_address,
            "mobileNumber": instance.mobile_number,
            "organizationNumber": instance.organization_number,
            "nationalIdentityNumber": instance.national_identity_number,
            "isReserved": instance.is_reserved,
        }
        return {key: value for key, value in data.items() if value is not None}


@extend_schema_field(RecipientSerializer(many=True))
class RecipientsField(serializers.Field[list[RecipientData], Any, Any, Any]):
    """The recipient list, validated without DRF's per-field overhead (an order may hold 100,000).

    The rules depend on the order's channel, which the parent serializer provides as ``recipient_channel``.
    """

    default_error_messages = {
        "required": validation.MSG_NO_RECIPIENTS,
        "null": validation.MSG_NO_RECIPIENTS,
        "not_a_list": 'Expected a list of recipients but got type "{input_type}".',
        "too_many": "An order can have at most {limit} recipients.",
    }

    def to_internal_value(self, data: Any) -> list[RecipientData]:
        if not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        if not data:
            self.fail("required")
        limit = settings.NOTIFICATIONS_MAX_RECIPIENTS_PER_ORDER
        if len(data) > limit:
            self.fail("too_many", limit=limit)
        channel = getattr(self.parent, "recipient_channel", None)
        errors: list[Any] = []
        failed = 0
        for index, item in enumerate(data):
            item_errors = _recipient_errors(item, channel)
            errors.append(item_errors)
            failed += bool(item_errors)
            if failed == MAX_LISTED_ERRORS and index + 1 < len(data):
                # An answer lists no more errors than this, so checking the rest would only cost time
                # (a 100,000-recipient request of bad ones held a worker for seconds).
                unchecked = len(data) - index - 1
                errors.append(not_listed(_not_checked_message(unchecked, index)))
                break
        if failed:
            # A list aligned with the input: problems.flatten_errors turns it into recipients[i].field.
            raise serializers.ValidationError(errors)
        return [_recipient_data(item) for item in data]

    def to_representation(self, value: Any) -> Any:
        return RecipientSerializer(value, many=True).data


def _recipient_errors(item: Any, channel: str | None) -> dict[str, list[str]]:
    if not isinstance(item, dict):
        return {"non_field_errors": [f'Expected a recipient object but got type "{type(item).__name__}".']}
    errors: dict[str, list[str]] = {}
    for name, max_length in _RECIPIENT_MAX_LENGTHS.items():
        value = item.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            errors[name] = [MSG_NOT_A_STRING]
        elif "\x00" in value:
            # PostgreSQL cannot store NUL; a field the channel ignores is stored unvalidated otherwise.
            errors[name] = ["Null characters are not allowed."]
        elif len(value) > max_length:
            errors[name] = [f"Ensure this field has no more than {max_length} characters."]
    typed = {key: value for key, value in item.items() if key not in errors}
    for key, messages in validation.recipient_errors(typed, channel).items():
        errors.setdefault(key or "non_field_errors", []).extend(messages)
    return errors


def _recipient_data(item: Mapping[str, Any]) -> RecipientData:
    def text(name: str) -> str | None:
        value = item.get(name)
        return value if isinstance(value, str) and value != "" else None

    email = text("emailAddress")
    return RecipientData(
        # The address rule trims before matching; store the address it matched.
        email_address=email.strip() if email else None,
        # Mobile numbers are stored as given, as the reference does (only registry numbers are normalised).
        mobile_number=text("mobileNumber"),
        organization_number=text("organizationNumber"),
        national_identity_number=text("nationalIdentityNumber"),
    )


# --- Fields of every order -------------------------------------------------------------------------


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
        schemes = ("https", "http") if allow_http else ("https",)
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises ValueError for a malformed port
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in schemes or not parts.hostname or value != value.strip():
            raise serializers.ValidationError(
                MSG_INVALID_STATUS_CALLBACK_URL_HTTP if allow_http else MSG_INVALID_STATUS_CALLBACK_URL
            )
        return value


class SendTimeField(OffsetDateTimeField):
    """``requestedSendTime``: with an offset, no more than five minutes in the past and no more than
    NOTIFICATIONS_MAX_SEND_AHEAD_DAYS ahead."""

    def to_internal_value(self, value: Any) -> Any:
        parsed = super().to_internal_value(value)
        if (timezone.now() - parsed).total_seconds() > SEND_TIME_TOLERANCE_SECONDS:
            raise serializers.ValidationError(validation.MSG_SEND_TIME_PASSED)
        refuse_too_late(parsed)
        return parsed


class OrderRequestBaseSerializer(serializers.Serializer[dict[str, Any]]):
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
        "POSTed there as JSON, signed with HMAC-SHA256 in the X-Notifications-Signature header (see the "
        "README's Status callbacks); retried with backoff for up to 24 hours.",
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
        max_length=_max_length(Order, "resource_id"),
        help_text="The Altinn resource the notifications relate to.",
    )
    resourceAction = StrictCharField(
        source="resource_action",
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=_max_length(Order, "resource_action"),
        help_text="The action on the resource a recipient must be authorised for; needs resourceId.",
    )

    # The channel the recipient rules are checked for (fixed for /orders/sms and /orders/email).
    recipient_channel: str | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit(
            self.fields["sendersReference"],
            min(settings.NOTIFICATIONS_MAX_SENDERS_REFERENCE_CHARS, _max_length(Order, "senders_reference")),
        )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        """Field errors and cross-field errors are reported together, as the reference does."""
        errors: dict[str, Any] = {}
        attrs: dict[str, Any] = {}
        try:
            attrs = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, dict):
                raise
            errors = dict(exc.detail)
        if isinstance(data, Mapping):
            for key, messages in self.cross_field_errors(data).items():
                existing = errors.setdefault(key, [])
                if isinstance(existing, list):
                    existing.extend(messages)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def cross_field_errors(self, data: Mapping[str, Any]) -> dict[str, list[str]]:
        """Rules over several fields, checked on the raw request so they show up beside field errors."""
        errors: dict[str, list[str]] = {}
        action = data.get("resourceAction")
        resource = data.get("resourceId")
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


# --- Templates (requests and responses) ------------------------------------------------------------


class OmitNullSerializer(serializers.Serializer[Any]):
    """Null fields are left out of the JSON, as the reference does."""

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        return {key: value for key, value in data.items() if value is not None}


def _sender_number_field() -> SenderField:
    return SenderField(
        rule=validation.is_valid_sms_sender,
        message=validation.MSG_INVALID_SMS_SENDER,
        source="sender_number",
        max_length=_max_length(SmsTemplate, "sender_number"),
        help_text="The sender shown to the recipient (trimmed): a number of at most 15 digits, optionally "
        "starting with +, or a name of at most 11 GSM letters, digits and spaces. Default: Altinn "
        "(configurable).",
    )


def _content_type_field() -> EnumField:
    return EnumField(CONTENT_TYPE_VALUES, source="content_type", required=False, allow_null=True)


class EmailTemplateSerializer(OmitNullSerializer):
    """The email of an order."""

    fromAddress = SenderField(
        rule=validation.is_valid_sender_email,
        message=validation.MSG_INVALID_SENDER_EMAIL,
        source="from_address",
        max_length=_max_length(EmailTemplate, "from_address"),
        help_text="The sender address, one address without a display name (trimmed). Default: the "
        "service's configured address.",
    )
    subject = RequiredTextField(
        message=validation.MSG_EMAIL_TEMPLATE_SUBJECT_EMPTY, help_text="Line breaks are replaced by spaces."
    )
    body = RequiredTextField(
        message=validation.MSG_EMAIL_TEMPLATE_BODY_EMPTY, help_text="Plain text or HTML."
    )
    contentType = _content_type_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit(self.fields["subject"], settings.NOTIFICATIONS_MAX_EMAIL_SUBJECT_CHARS)
        _limit(self.fields["body"], settings.NOTIFICATIONS_MAX_EMAIL_BODY_CHARS)

    def validate(self, attrs: dict[str, Any]) -> EmailTemplateData:
        from_address = attrs.get("from_address")
        return EmailTemplateData(
            subject=validation.fold_subject_newlines(attrs["subject"]),
            body=attrs["body"],
            content_type=attrs.get("content_type") or "Plain",
            from_address=from_address.strip() if from_address and from_address.strip() else None,
        )


class SmsTemplateSerializer(OmitNullSerializer):
    """The SMS of an order."""

    senderNumber = _sender_number_field()
    body = RequiredTextField(
        message=validation.MSG_SMS_TEMPLATE_BODY_EMPTY,
        help_text="The text. Keywords $recipientName$ and $recipientNumber$ are replaced per recipient.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit(self.fields["body"], settings.NOTIFICATIONS_MAX_SMS_BODY_CHARS)

    def validate(self, attrs: dict[str, Any]) -> SmsTemplateData:
        return SmsTemplateData(body=attrs["body"], sender_number=attrs.get("sender_number") or None)


# --- The three requests ----------------------------------------------------------------------------


@extend_schema_serializer(component_name="SmsNotificationOrder")
class SmsNotificationOrderRequestSerializer(OrderRequestBaseSerializer):
    """An SMS order (POST /orders/sms): one text to every recipient."""

    body = RequiredTextField(
        message=validation.MSG_SMS_TEMPLATE_BODY_EMPTY,
        help_text="The text. Keywords $recipientName$ and $recipientNumber$ are replaced per recipient.",
    )
    senderNumber = _sender_number_field()

    recipient_channel = NotificationChannel.SMS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit(self.fields["body"], settings.NOTIFICATIONS_MAX_SMS_BODY_CHARS)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        attrs["notification_channel"] = NotificationChannel.SMS
        attrs["sms_template"] = SmsTemplateData(
            body=attrs.pop("body"), sender_number=attrs.pop("sender_number", None) or None
        )
        return attrs


@extend_schema_serializer(component_name="EmailNotificationOrder")
class EmailNotificationOrderRequestSerializer(OrderRequestBaseSerializer):
    """An email order (POST /orders/email): one email to every recipient, from the configured sender."""

    subject = RequiredTextField(
        message=validation.MSG_EMAIL_SUBJECT_EMPTY, help_text="Line breaks are replaced by spaces."
    )
    body = RequiredTextField(message=validation.MSG_EMAIL_BODY_EMPTY, help_text="Plain text or HTML.")
    contentType = _content_type_field()

    recipient_channel = NotificationChannel.EMAIL

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit(self.fields["subject"], settings.NOTIFICATIONS_MAX_EMAIL_SUBJECT_CHARS)
        _limit(self.fields["body"], settings.NOTIFICATIONS_MAX_EMAIL_BODY_CHARS)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        attrs["notification_channel"] = NotificationChannel.EMAIL
        attrs["email_template"] = EmailTemplateData(
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
        return super().to_internal_value(data)

    def cross_field_errors(self, data: Mapping[str, Any]) -> dict[str, list[str]]:
        errors = super().cross_field_errors(data)
        channel = self.recipient_channel
        if channel in validation.EMAIL_TEMPLATE_CHANNELS and data.get("emailTemplate") is None:
            errors["emailTemplate"] = [validation.MSG_EMAIL_TEMPLATE_REQUIRED]
        if channel in validation.SMS_TEMPLATE_CHANNELS and data.get("smsTemplate") is None:
            errors["smsTemplate"] = [validation.MSG_SMS_TEMPLATE_REQUIRED]
        return errors
