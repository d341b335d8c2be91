"""Fields, rules and messages of the future API's requests (the reference's texts, verbatim)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers
from rest_framework.settings import api_settings

from orders import validation
from orders.api.fields import (
    EnumField,
    OffsetDateTimeField,
    RequiredTextField,
    StrictCharField,
    refuse_too_late,
)
from orders.api.serializers.base import limit_length, max_length_of
from orders.models import Order, OrderChain, Recipient, SendingTimePolicy

NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY

# Messages, verbatim from the reference.
MSG_IDEMPOTENCY_ID_EMPTY = "IdempotencyId cannot be null or empty."
MSG_SEND_TIME_PASSED = "RequestedSendTime must be greater than or equal to now."
MSG_REMINDER_SEND_TIME_PASSED = "RequestedSendTime must be greater than or equal to the current UTC time."
MSG_CONDITION_NOT_ABSOLUTE = "ConditionEndpoint must be a valid absolute URI or null."
MSG_CONDITION_SCHEME = "ConditionEndpoint must use http or https scheme."
MSG_ONE_RECIPIENT = "Must have exactly one recipient."
MSG_PHONE_EMPTY = "Recipient phone number cannot be null or empty."
MSG_PHONE_INVALID = "Recipient phone number is not a valid mobile number."
MSG_ORGNO_EMPTY = "OrgNumber cannot be null or empty."
MSG_CHANNEL_SCHEMA = "Invalid channel scheme value."
MSG_EMAIL_SETTINGS_REQUIRED = "EmailSettings must be set when ChannelSchema is Email"
MSG_SMS_SETTINGS_REQUIRED = "SmsSettings must be set when ChannelSchema is Sms"
MSG_PREFERRED_SETTINGS_REQUIRED = (
    "EmailSettings/SmsSettings must be set when ChannelSchema is SmsPreferred or EmailPreferred"
)
MSG_BOTH_SETTINGS_REQUIRED = "EmailSettings/SmsSettings must be set when ChannelSchema is EmailAndSms"
MSG_RESOURCE_ID = "ResourceId must have a valid syntax."
MSG_SENDER_EMAIL = validation.MSG_INVALID_SENDER_EMAIL
MSG_EMAIL_SUBJECT_EMPTY = "The email subject cannot be empty."
MSG_EMAIL_BODY_EMPTY = "The email body cannot be empty."
MSG_CONTENT_TYPE = "Email content type must be either Plain or HTML."
MSG_EMAIL_ANYTIME = "Email only supports send time anytime"
MSG_SMS_BODY_EMPTY = "SMS body cannot be null or empty."
MSG_SMS_POLICY = "SMS only supports send time daytime and anytime"
MSG_REMINDER_TIME = "Either DelayDays or RequestedSendTime must be defined, but not both."
MSG_DELAY_DAYS = "DelayDays must be greater than or equal to 1 day."
MSG_TIME_TO_LIVE = "Time-to-live must be between 60 and 172800 seconds (48 hours)."
MSG_NOT_AN_INTEGER = "Must be a whole number."

RESOURCE_PREFIX = "urn:altinn:resource:"
TIME_TO_LIVE_RANGE = (60, 172_800)
MAX_DELAY_DAYS = 3650  # ten years: beyond it the send time overflows nothing useful

# SendingTimePolicy's integer values are 1 and 2 (not 0 and 1).
POLICY_VALUES = {1: SendingTimePolicy.ANYTIME.value, 2: SendingTimePolicy.DAYTIME.value}


def is_valid_condition_endpoint_v2(value: str) -> str | None:
    """The v2 rule (§1.5.3): an absolute http(s) URI; localhost and IP addresses are allowed."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return MSG_CONDITION_NOT_ABSOLUTE
    if not parts.scheme or not parts.netloc or not parts.hostname or any(c.isspace() for c in value):
        return MSG_CONDITION_NOT_ABSOLUTE
    if parts.scheme not in ("http", "https"):
        return MSG_CONDITION_SCHEME
    return None


# --- Fields ------------------------------------------------------------------------------------------


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer; strings, fractions and booleans are refused."""

    default_error_messages = {"invalid": MSG_NOT_AN_INTEGER}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return int(super().to_internal_value(data))


class PolicyField(EnumField):
    """``sendingTimePolicy``: ``Anytime`` (1) or ``Daytime`` (2), by name (any case) or number."""

    def __init__(self, *, message: str, **kwargs: Any) -> None:
        super().__init__(list(POLICY_VALUES.values()), error_messages={"invalid_choice": message}, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, int) and not isinstance(data, bool):
            if data in POLICY_VALUES:
                return POLICY_VALUES[data]
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class ConditionEndpointV2Field(StrictCharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "An absolute http(s) URL asked before sending whether to send.")
        super().__init__(
            required=False,
            allow_null=True,
            allow_blank=True,
            max_length=max_length_of(Order, "condition_endpoint"),
            **kwargs,
        )

    def to_internal_value(self, data: Any) -> str:
        value = str(super().to_internal_value(data))
        problem = is_valid_condition_endpoint_v2(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value


class SendTimeV2Field(OffsetDateTimeField):
    """A send time with an offset that has not passed (no tolerance, as in the reference) and is at most
    NOTIFICATIONS_MAX_SEND_AHEAD_DAYS ahead."""

    def __init__(self, *, passed_message: str, **kwargs: Any) -> None:
        self.passed_message = passed_message
        super().__init__(required=False, allow_null=True, **kwargs)

    def to_internal_value(self, value: Any) -> Any:
        parsed = super().to_internal_value(value)
        if parsed < timezone.now():
            raise serializers.ValidationError(self.passed_message)
        refuse_too_late(parsed)
        return parsed


class SendersReferenceField(StrictCharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "help_text", "The sender's own reference for this notification; need not be unique."
        )
        super().__init__(required=False, allow_null=True, allow_blank=True, **kwargs)
        # Here rather than as max_length: DRF rebuilds declared fields per request from their
        # arguments, so a limit from settings is read afresh (and a test's override applies).
        limit_length(
            self,
            min(
                settings.NOTIFICATIONS_MAX_SENDERS_REFERENCE_CHARS, max_length_of(Order, "senders_reference")
            ),
        )


def digits_only(value: str, length: int) -> bool:
    # str.isdigit would also accept superscripts and other scripts' digits; the reference wants 0-9.
    return len(value) == length and all("0" <= char <= "9" for char in value)


def idempotency_id_field() -> RequiredTextField:
    return RequiredTextField(
        message=MSG_IDEMPOTENCY_ID_EMPTY,
        max_length=max_length_of(OrderChain, "idempotency_id"),
        help_text="The client's id of this request, unique per creator: repeating a request with the same "
        "idempotencyId returns the first receipt (200) instead of creating anything again.",
    )


def email_address_field() -> RequiredTextField:
    return RequiredTextField(
        message=validation.MSG_INVALID_EMAIL, max_length=max_length_of(Recipient, "email_address")
    )


def validated_email(value: str) -> str:
    if not validation.is_valid_email(value):
        raise serializers.ValidationError(validation.MSG_INVALID_EMAIL)
    return value.strip()  # the rule trims before matching; keep the address it matched


def phone_number_field() -> RequiredTextField:
    return RequiredTextField(
        message=MSG_PHONE_EMPTY,
        max_length=max_length_of(Recipient, "mobile_number"),
        help_text="With country code: +47... or 0047...",
    )


def validated_phone_number(value: str) -> str:
    if not validation.is_valid_mobile_number(value):
        raise serializers.ValidationError(MSG_PHONE_INVALID)
    return value  # stored and sent as given, as in the reference
