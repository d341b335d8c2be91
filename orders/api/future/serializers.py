"""Request serializers of the future API: the reference's rules and messages (§1.6.1, §1.8).

As in v1, every error of a request is reported at once under the JSON path of its field
(``reminders[0].recipient.recipientPerson.emailSettings``), field errors and cross-field rules together,
and wrong JSON types are refused rather than coerced. ``validate`` turns each request into the plain
dataclasses the services take.
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
from rest_framework.settings import api_settings

from orders import validation
from orders.api.fields import (
    EnumField,
    OffsetDateTimeField,
    RequiredTextField,
    StrictBooleanField,
    StrictCharField,
)
from orders.api.serializers import CHANNEL_VALUES, CONTENT_TYPE_VALUES
from orders.chains import ChainRequest, ShipmentRequest
from orders.instant import InstantEmail, InstantSms
from orders.models import NotificationChannel, Order, OrderChain, Recipient, SendingTimePolicy
from orders.services import EmailTemplateData, RecipientData, SmsTemplateData
from templates.models import EmailTemplate, SmsTemplate

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
MSG_SENDER_EMAIL = "The sender email address is not valid."
MSG_EMAIL_SUBJECT_EMPTY = "The email subject cannot be empty."
MSG_EMAIL_BODY_EMPTY = "The email body cannot be empty."
MSG_CONTENT_TYPE = "Email content type must be either Plain or HTML."
MSG_EMAIL_ANYTIME = "Email only supports send time anytime"
MSG_SMS_BODY_EMPTY = "SMS body cannot be null or empty."
MSG_SMS_POLICY = "SMS only supports send time daytime and anytime"
MSG_REMINDER_TIME = "Either DelayDays or RequestedSendTime must be defined, but not both."
MSG_DELAY_DAYS = "DelayDays must be greater than or equal to 1 day."
MSG_TIME_TO_LIVE = "Time-to-live must be between 60 and 172800 seconds (48 hours)."
# Ours: this service has no register of external identities to look them up in.
MSG_EXTERNAL_IDENTITY = "Recipients given by external identity are not supported by this service."
MSG_NOT_AN_INTEGER = "Must be a whole number."

RESOURCE_PREFIX = "urn:altinn:resource:"
TIME_TO_LIVE_RANGE = (60, 172_800)
MAX_DELAY_DAYS = 3650  # ten years: beyond it the send time overflows nothing useful

# SendingTimePolicy's integer values are 1 and 2 (not 0 and 1).
POLICY_VALUES = {1: SendingTimePolicy.ANYTIME.value, 2: SendingTimePolicy.DAYTIME.value}


def _max_length(model: Any, name: str) -> int:
    length = model._meta.get_field(name).max_length
    assert isinstance(length, int)
    return length


def _limit(field: serializers.Field[Any, Any, Any, Any], max_length: int) -> None:
    # Applied per instance, so a settings override takes effect at once.
    field.validators.append(MaxLengthValidator(max_length))


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
            max_length=_max_length(Order, "condition_endpoint"),
            **kwargs,
        )

    def to_internal_value(self, data: Any) -> str:
        value = str(super().to_internal_value(data))
        problem = is_valid_condition_endpoint_v2(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value


class SendTimeV2Field(OffsetDateTimeField):
    """A send time with an offset that has not passed (no tolerance, as in the reference)."""

    def __init__(self, *, passed_message: str, **kwargs: Any) -> None:
        self.passed_message = passed_message
        super().__init__(required=False, allow_null=True, **kwargs)

    def to_internal_value(self, value: Any) -> Any:
        parsed = super().to_internal_value(value)
        if parsed < timezone.now():
            raise serializers.ValidationError(self.passed_message)
        return parsed


class SendersReferenceField(StrictCharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "help_text", "The sender's own reference for this notification; need not be unique."
        )
        super().__init__(required=False, allow_null=True, allow_blank=True, **kwargs)
        # Here rather than as max_length: DRF rebuilds declared fields per request from their
        # arguments, so a limit from settings is read afresh (and a test's override applies).
        _limit(
            self,
            min(settings.NOTIFICATIONS_MAX_SENDERS_REFERENCE_CHARS, _max_length(Order, "senders_reference")),
        )


def _digits(value: str, length: int) -> bool:
    # str.isdigit would also accept superscripts and other scripts' digits; the reference wants 0-9.
    return len(value) == length and all("0" <= char <= "9" for char in value)


def _idempotency_id_field() -> RequiredTextField:
    return RequiredTextField(
        message=MSG_IDEMPOTENCY_ID_EMPTY,
        max_length=_max_length(OrderChain, "idempotency_id"),
        help_text="The client's id of this request, unique per creator: repeating a request with the same "
        "idempotencyId returns the first receipt (200) instead of creating anything again.",
    )


# --- A serializer that reports field errors and cross-field rules together -------------------------


class _Collecting(serializers.Serializer[Any]):
    def to_internal_value(self, data: Any) -> Any:
        errors: dict[str, Any] = {}
        attrs: Any = {}
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
        """Rules over several fields, checked on the raw request so they show beside field errors."""
        return {}


# --- Settings ----------------------------------------------------------------------------------------


class EmailSettingsSerializer(_Collecting):
    """The email to send: sender, subject, body and content type."""

    senderEmailAddress = StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=_max_length(EmailTemplate, "from_address"),
        help_text="The sender address. Default: the service's configured address.",
    )
    subject = RequiredTextField(message=MSG_EMAIL_SUBJECT_EMPTY, help_text="Line breaks become spaces.")
    body = RequiredTextField(message=MSG_EMAIL_BODY_EMPTY, help_text="Plain text or HTML.")
    contentType = EnumField(
        CONTENT_TYPE_VALUES,
        required=False,
        allow_null=True,
        error_messages={"invalid_choice": MSG_CONTENT_TYPE},
        help_text="Plain (default) or Html.",
    )
    sendingTimePolicy = PolicyField(
        message=MSG_EMAIL_ANYTIME,
        required=False,
        allow_null=True,
        help_text="Only Anytime (the default) is allowed for email.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit(self.fields["subject"], settings.NOTIFICATIONS_MAX_EMAIL_SUBJECT_CHARS)
        _limit(self.fields["body"], settings.NOTIFICATIONS_MAX_EMAIL_BODY_CHARS)

    def validate_senderEmailAddress(self, value: str | None) -> str | None:
        # Set means valid: "" is refused, leaving the field out is fine (reference §1.5.1).
        if value is not None and not validation.is_valid_email(value):
            raise serializers.ValidationError(MSG_SENDER_EMAIL)
        return value.strip() if value is not None else None

    def validate_sendingTimePolicy(self, value: str | None) -> str | None:
        if value is not None and value != SendingTimePolicy.ANYTIME:
            raise serializers.ValidationError(MSG_EMAIL_ANYTIME)
        return value

    def validate(self, attrs: dict[str, Any]) -> EmailTemplateData:
        return EmailTemplateData(
            subject=validation.fold_subject_newlines(attrs["subject"]),
            body=attrs["body"],
            content_type=attrs.get("contentType") or "Plain",
            from_address=attrs.get("senderEmailAddress") or None,
        )


@extend_schema_serializer(component_name="InstantEmailSettings")
class InstantEmailSettingsSerializer(EmailSettingsSerializer):
    """The email of an instant order (always sent at once)."""

    sendingTimePolicy = None  # type: ignore[assignment]


class SmsSettingsSerializer(_Collecting):
    """The SMS to send: sender, text and when it may be sent."""

    sender = StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=_max_length(SmsTemplate, "sender_number"),
        help_text="The sender shown to the recipient (trimmed). Default: Altinn (configurable).",
    )
    body = RequiredTextField(
        message=MSG_SMS_BODY_EMPTY,
        help_text="The text. $recipientName$ and $recipientNumber$ are replaced per recipient.",
    )
    sendingTimePolicy = PolicyField(
        message=MSG_SMS_POLICY,
        required=False,
        allow_null=True,
        help_text="Daytime (the default: only inside the daytime send window) or Anytime.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit(self.fields["body"], settings.NOTIFICATIONS_MAX_SMS_BODY_CHARS)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        sender = (attrs.get("sender") or "").strip()
        return {
            "template": SmsTemplateData(body=attrs["body"], sender_number=sender or None),
            "policy": attrs.get("sendingTimePolicy") or SendingTimePolicy.DAYTIME,
        }


@extend_schema_serializer(component_name="InstantSmsSettings")
class InstantSmsSettingsSerializer(SmsSettingsSerializer):
    """The SMS of an instant order (always sent at once)."""

    sendingTimePolicy = None  # type: ignore[assignment]


# --- Recipients --------------------------------------------------------------------------------------


def _resource_errors(data: Mapping[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    resource = data.get("resourceId")
    if isinstance(resource, str) and (
        not resource.startswith(RESOURCE_PREFIX) or not resource[len(RESOURCE_PREFIX) :].strip()
    ):
        errors["resourceId"] = [MSG_RESOURCE_ID]
    action = data.get("resourceAction")
    if isinstance(action, str):
        if not action.strip():
            errors["resourceAction"] = [validation.MSG_RESOURCE_ACTION_BLANK]
        elif not isinstance(resource, str) or not resource.strip():
            errors["resourceAction"] = [validation.MSG_RESOURCE_ACTION_WITHOUT_RESOURCE]
    return errors


def _settings_errors(channel: Any, data: Mapping[str, Any]) -> dict[str, list[str]]:
    """The settings a channel schema needs (reference §1.6.1's table)."""
    email, sms = data.get("emailSettings") is not None, data.get("smsSettings") is not None
    needed: tuple[bool, bool, str]
    if channel == NotificationChannel.EMAIL:
        needed = (True, False, MSG_EMAIL_SETTINGS_REQUIRED)
    elif channel == NotificationChannel.SMS:
        needed = (False, True, MSG_SMS_SETTINGS_REQUIRED)
    elif channel in (NotificationChannel.EMAIL_PREFERRED, NotificationChannel.SMS_PREFERRED):
        needed = (True, True, MSG_PREFERRED_SETTINGS_REQUIRED)
    elif channel == NotificationChannel.EMAIL_AND_SMS:
        needed = (True, True, MSG_BOTH_SETTINGS_REQUIRED)
    else:
        return {}
    errors: dict[str, list[str]] = {}
    if needed[0] and not email:
        errors["emailSettings"] = [needed[2]]
    if needed[1] and not sms:
        errors["smsSettings"] = [needed[2]]
    return errors


def _channel_schema_field() -> EnumField:
    return EnumField(
        CHANNEL_VALUES,
        error_messages={"invalid_choice": MSG_CHANNEL_SCHEMA, "null": MSG_CHANNEL_SCHEMA},
        help_text="Which channel(s) to reach the recipient in; the settings it needs must be given.",
    )


def _resource_id_field() -> StrictCharField:
    return StrictCharField(
        required=False,
        allow_null=True,
        max_length=_max_length(Order, "resource_id"),
        help_text="urn:altinn:resource:<id>, the Altinn resource the notification concerns.",
    )


def _resource_action_field() -> StrictCharField:
    return StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=_max_length(Order, "resource_action"),
        help_text="The action on the resource a recipient must be authorised for; needs resourceId.",
    )


class _IdentifiedRecipientSerializer(_Collecting):
    """Recipients looked up in the contact registry, with a channel schema and its settings."""

    channelSchema = _channel_schema_field()
    emailSettings = EmailSettingsSerializer(required=False, allow_null=True)
    smsSettings = SmsSettingsSerializer(required=False, allow_null=True)
    resourceId = _resource_id_field()
    resourceAction = _resource_action_field()

    def cross_field_errors(self, data: Mapping[str, Any]) -> dict[str, list[str]]:
        channel = None
        try:
            channel = self.fields["channelSchema"].run_validation(data.get("channelSchema"))
        except serializers.ValidationError:
            pass  # reported with the field errors
        return {**_settings_errors(channel, data), **_resource_errors(data)}

    def shipment(self, attrs: dict[str, Any], recipient: RecipientData, identifier: str) -> dict[str, Any]:
        sms = attrs.get("smsSettings")
        return {
            "notification_channel": attrs["channelSchema"],
            "recipient": recipient,
            "identifier": identifier,
            "email_template": attrs.get("emailSettings"),
            "sms_template": sms["template"] if sms else None,
            # The order's policy is the SMS one whenever SMS settings are given (reference §2.3).
            "sending_time_policy": sms["policy"] if sms else SendingTimePolicy.ANYTIME,
            "resource_id": attrs.get("resourceId"),
            "resource_action": attrs.get("resourceAction") or None,
        }


class RecipientPersonSerializer(_IdentifiedRecipientSerializer):
    """A person, by national identity number, looked up in the contact registry."""

    nationalIdentityNumber = RequiredTextField(message=validation.MSG_INVALID_NIN, help_text="11 digits.")
    ignoreReservation = StrictBooleanField(
        required=False,
        allow_null=True,
        help_text="Send even if the person is reserved against digital contact (default false).",
    )
    useStaleContactInformation = StrictBooleanField(
        required=False,
        allow_null=True,
        help_text="Accepted for compatibility; this service's registry has no staleness cut-off.",
    )

    def validate_nationalIdentityNumber(self, value: str) -> str:
        if not _digits(value, validation.NIN_LENGTH):
            raise serializers.ValidationError(validation.MSG_INVALID_NIN)
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        shipment = self.shipment(
            attrs,
            RecipientData(national_identity_number=attrs["nationalIdentityNumber"]),
            "recipientPerson.nationalIdentityNumber",
        )
        shipment["ignore_reservation"] = bool(attrs.get("ignoreReservation"))
        return shipment


class RecipientOrganizationSerializer(_IdentifiedRecipientSerializer):
    """An organization, by organization number: its notification addresses in the contact registry."""

    orgNumber = RequiredTextField(message=MSG_ORGNO_EMPTY, help_text="9 digits.")

    def validate_orgNumber(self, value: str) -> str:
        if not _digits(value, validation.ORGANIZATION_NUMBER_LENGTH):
            raise serializers.ValidationError(validation.MSG_INVALID_ORGANIZATION_NUMBER)
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return self.shipment(
            attrs, RecipientData(organization_number=attrs["orgNumber"]), "recipientOrganization.orgNumber"
        )


def _email_address_field() -> RequiredTextField:
    return RequiredTextField(
        message=validation.MSG_INVALID_EMAIL, max_length=_max_length(Recipient, "email_address")
    )


def _validated_email(value: str) -> str:
    if not validation.is_valid_email(value):
        raise serializers.ValidationError(validation.MSG_INVALID_EMAIL)
    return value.strip()  # the rule trims before matching; keep the address it matched


def _phone_number_field() -> RequiredTextField:
    return RequiredTextField(
        message=MSG_PHONE_EMPTY,
        max_length=_max_length(Recipient, "mobile_number"),
        help_text="With country code: +47... or 0047...",
    )


def _validated_phone_number(value: str) -> str:
    if not validation.is_valid_mobile_number(value):
        raise serializers.ValidationError(MSG_PHONE_INVALID)
    return value  # stored and sent as given, as in the reference


class RecipientEmailSerializer(_Collecting):
    """An email address, used as given."""

    emailAddress = _email_address_field()
    emailSettings = EmailSettingsSerializer()

    def validate_emailAddress(self, value: str) -> str:
        return _validated_email(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return {
            "notification_channel": NotificationChannel.EMAIL,
            "recipient": RecipientData(email_address=attrs["emailAddress"]),
            "identifier": "recipientEmail.emailAddress",
            "email_template": attrs["emailSettings"],
            "sms_template": None,
            "sending_time_policy": SendingTimePolicy.ANYTIME,
        }


class RecipientSmsSerializer(_Collecting):
    """A mobile number, used as given."""

    phoneNumber = _phone_number_field()
    smsSettings = SmsSettingsSerializer()

    def validate_phoneNumber(self, value: str) -> str:
        return _validated_phone_number(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        sms = attrs["smsSettings"]
        return {
            "notification_channel": NotificationChannel.SMS,
            "recipient": RecipientData(mobile_number=attrs["phoneNumber"]),
            "identifier": "recipientSms.phoneNumber",
            "email_template": None,
            "sms_template": sms["template"],
            "sending_time_policy": sms["policy"],
        }


@extend_schema_field(
    {
        "type": "object",
        "description": "Recipients by external identity (a URN) are not supported by this service: "
        "sending one is a 400.",
    }
)
class _UnsupportedField(serializers.Field[Any, Any, Any, Any]):
    def to_internal_value(self, data: Any) -> Any:
        raise serializers.ValidationError(MSG_EXTERNAL_IDENTITY)


_RECIPIENT_KINDS = (
    "recipientEmail",
    "recipientSms",
    "recipientPerson",
    "recipientOrganization",
    "recipientExternalIdentity",
)


class NotificationRecipientSerializer(_Collecting):
    """Exactly one recipient: an email address, a mobile number, a person or an organization."""

    recipientEmail = RecipientEmailSerializer(required=False, allow_null=True)
    recipientSms = RecipientSmsSerializer(required=False, allow_null=True)
    recipientPerson = RecipientPersonSerializer(required=False, allow_null=True)
    recipientOrganization = RecipientOrganizationSerializer(required=False, allow_null=True)
    recipientExternalIdentity = _UnsupportedField(required=False, allow_null=True)

    def cross_field_errors(self, data: Mapping[str, Any]) -> dict[str, list[str]]:
        given = [kind for kind in _RECIPIENT_KINDS if data.get(kind) is not None]
        if len(given) != 1:
            return {NON_FIELD: [MSG_ONE_RECIPIENT]}
        return {}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        (shipment,) = [value for value in attrs.values() if value is not None]
        result: dict[str, Any] = shipment
        return result


# --- Order chain -------------------------------------------------------------------------------------


class DialogportenAssociationSerializer(serializers.Serializer[Any]):
    """The Dialogporten dialog (and transmission) the notification belongs to; kept with the request."""

    dialogId = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=200)
    transmissionId = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=200)


def _shipment(
    recipient: dict[str, Any],
    path: str,
    *,
    senders_reference: str | None,
    condition_endpoint: str | None,
    **extra: Any,
) -> ShipmentRequest:
    values = {key: value for key, value in recipient.items() if key != "identifier"}
    return ShipmentRequest(
        identifier_path=f"{path}.{recipient['identifier']}",
        senders_reference=senders_reference or None,
        condition_endpoint=condition_endpoint or None,
        **values,
        **extra,
    )


class ReminderSerializer(_Collecting):
    """A reminder: a notification of its own, sent a number of days after the main one (or at a time)."""

    sendersReference = SendersReferenceField()
    conditionEndpoint = ConditionEndpointV2Field(
        help_text="Asked before the reminder is sent; the reminder does not inherit the main one's."
    )
    delayDays = StrictIntegerField(
        required=False,
        allow_null=True,
        max_value=MAX_DELAY_DAYS,
        help_text="Days after the main notification's send time (at least 1). Either this or "
        "requestedSendTime.",
    )
    requestedSendTime = SendTimeV2Field(
        passed_message=MSG_REMINDER_SEND_TIME_PASSED,
        help_text="When to send the reminder, with an offset. Either this or delayDays.",
    )
    recipient = NotificationRecipientSerializer(help_text="May differ from the main notification's.")

    def validate_delayDays(self, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise serializers.ValidationError(MSG_DELAY_DAYS)
        return value

    def cross_field_errors(self, data: Mapping[str, Any]) -> dict[str, list[str]]:
        if (data.get("delayDays") is None) == (data.get("requestedSendTime") is None):
            return {NON_FIELD: [MSG_REMINDER_TIME]}
        return {}


@extend_schema_serializer(component_name="NotificationOrderChainRequest")
class OrderChainRequestSerializer(_Collecting):
    """An order chain: one notification to one recipient, and optionally reminders."""

    idempotencyId = _idempotency_id_field()
    sendersReference = SendersReferenceField()
    requestedSendTime = SendTimeV2Field(
        passed_message=MSG_SEND_TIME_PASSED,
        help_text="When to send, with an offset or Z; not in the past. Default: now.",
    )
    conditionEndpoint = ConditionEndpointV2Field()
    dialogportenAssociation = DialogportenAssociationSerializer(required=False, allow_null=True)
    recipient = NotificationRecipientSerializer()
    reminders = ReminderSerializer(many=True, required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> ChainRequest:
        main = _shipment(
            attrs["recipient"],
            "recipient",
            senders_reference=attrs.get("sendersReference"),
            condition_endpoint=attrs.get("conditionEndpoint"),
            requested_send_time=attrs.get("requestedSendTime"),
        )
        reminders = [
            _shipment(
                reminder["recipient"],
                f"reminders[{index}].recipient",
                senders_reference=reminder.get("sendersReference"),
                condition_endpoint=reminder.get("conditionEndpoint"),
                requested_send_time=reminder.get("requestedSendTime"),
                delay_days=reminder.get("delayDays"),
            )
            for index, reminder in enumerate(attrs.get("reminders") or [])
        ]
        return ChainRequest(idempotency_id=attrs["idempotencyId"], main=main, reminders=reminders)


# --- Instant orders ----------------------------------------------------------------------------------


class InstantRecipientSmsSerializer(serializers.Serializer[Any]):
    """The mobile number, how long the message may take to arrive, and the SMS."""

    phoneNumber = _phone_number_field()
    timeToLiveInSeconds = StrictIntegerField(
        error_messages={"required": MSG_TIME_TO_LIVE, "null": MSG_TIME_TO_LIVE},
        help_text="60 to 172800: after this the message is no longer worth delivering.",
    )
    smsSettings = InstantSmsSettingsSerializer()

    def validate_phoneNumber(self, value: str) -> str:
        return _validated_phone_number(value)

    def validate_timeToLiveInSeconds(self, value: int) -> int:
        if not TIME_TO_LIVE_RANGE[0] <= value <= TIME_TO_LIVE_RANGE[1]:
            raise serializers.ValidationError(MSG_TIME_TO_LIVE)
        return value


class InstantRecipientEmailSerializer(serializers.Serializer[Any]):
    """The email address and the email."""

    emailAddress = _email_address_field()
    emailSettings = InstantEmailSettingsSerializer()

    def validate_emailAddress(self, value: str) -> str:
        return _validated_email(value)


@extend_schema_serializer(component_name="InstantSmsNotificationOrderRequest")
class InstantSmsOrderRequestSerializer(serializers.Serializer[Any]):
    """One SMS to a known number, sent while the client waits."""

    idempotencyId = _idempotency_id_field()
    sendersReference = SendersReferenceField()
    recipientSms = InstantRecipientSmsSerializer()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        recipient = attrs["recipientSms"]
        sms = recipient["smsSettings"]["template"]
        return {
            "idempotency_id": attrs["idempotencyId"],
            "senders_reference": attrs.get("sendersReference") or None,
            "message": InstantSms(
                phone_number=recipient["phoneNumber"],
                body=sms.body,
                time_to_live_seconds=recipient["timeToLiveInSeconds"],
                sender=sms.sender_number,
            ),
        }


@extend_schema_serializer(component_name="InstantEmailNotificationOrderRequest")
class InstantEmailOrderRequestSerializer(serializers.Serializer[Any]):
    """One email to a known address, sent while the client waits."""

    idempotencyId = _idempotency_id_field()
    sendersReference = SendersReferenceField()
    recipientEmail = InstantRecipientEmailSerializer()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        recipient = attrs["recipientEmail"]
        email: EmailTemplateData = recipient["emailSettings"]
        return {
            "idempotency_id": attrs["idempotencyId"],
            "senders_reference": attrs.get("sendersReference") or None,
            "message": InstantEmail(
                email_address=recipient["emailAddress"],
                subject=email.subject,
                body=email.body,
                content_type=email.content_type,
                sender=email.from_address,
            ),
        }
