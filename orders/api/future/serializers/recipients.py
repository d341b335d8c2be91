"""The recipients of the future API and the email and SMS settings they carry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from orders import validation
from orders.api.fields import (
    EnumField,
    RequiredTextField,
    SenderField,
    StrictBooleanField,
    StrictCharField,
)
from orders.api.future.serializers.fields import (
    MSG_BOTH_SETTINGS_REQUIRED,
    MSG_CHANNEL_SCHEMA,
    MSG_CONTENT_TYPE,
    MSG_EMAIL_ANYTIME,
    MSG_EMAIL_BODY_EMPTY,
    MSG_EMAIL_SETTINGS_REQUIRED,
    MSG_EMAIL_SUBJECT_EMPTY,
    MSG_ONE_RECIPIENT,
    MSG_ORGNO_EMPTY,
    MSG_PREFERRED_SETTINGS_REQUIRED,
    MSG_RESOURCE_ID,
    MSG_SENDER_EMAIL,
    MSG_SMS_BODY_EMPTY,
    MSG_SMS_POLICY,
    MSG_SMS_SETTINGS_REQUIRED,
    NON_FIELD,
    RESOURCE_PREFIX,
    PolicyField,
    digits_only,
    email_address_field,
    phone_number_field,
    validated_email,
    validated_phone_number,
)
from orders.api.serializers import CHANNEL_VALUES, CONTENT_TYPE_VALUES
from orders.api.serializers.base import CollectingSerializer, limit_length, max_length_of
from orders.api.serializers.stored import StoredEmailFields, StoredSmsFields
from orders.models import NotificationChannel, Order, Recipient, SendingTimePolicy
from orders.registry.urns import (
    MSG_EXTERNAL_IDENTITY_EMPTY,
    MSG_EXTERNAL_IDENTITY_FORMAT,
    external_identity_parse,
)
from orders.services import RecipientData
from templates.models import EmailTemplate, SmsTemplate
from templates.records import EmailTemplateData, SmsTemplateData

# --- Settings ----------------------------------------------------------------------------------------


class EmailSettingsSerializer(StoredEmailFields, CollectingSerializer):
    """The email to send: sender, subject, body and content type, or a stored template (templateId)."""

    template_text_fields = ("senderEmailAddress", "subject", "body", "contentType")

    senderEmailAddress = StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=max_length_of(EmailTemplate, "from_address"),
        help_text="The sender address, one address without a display name. Default: the service's "
        "configured address.",
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
        limit_length(self.fields["subject"], settings.NOTIFICATIONS_MAX_EMAIL_SUBJECT_CHARS)
        limit_length(self.fields["body"], settings.NOTIFICATIONS_MAX_EMAIL_BODY_CHARS)

    def validate_senderEmailAddress(self, value: str | None) -> str | None:
        # Set means valid: "" is refused, leaving the field out is fine (reference §1.5.1).
        if value is not None and not validation.is_valid_sender_email(value):
            raise serializers.ValidationError(MSG_SENDER_EMAIL)
        return value.strip() if value is not None else None

    def validate_sendingTimePolicy(self, value: str | None) -> str | None:
        if value is not None and value != SendingTimePolicy.ANYTIME:
            raise serializers.ValidationError(MSG_EMAIL_ANYTIME)
        return value

    def validate(self, attrs: dict[str, Any]) -> EmailTemplateData:
        return self.stored_email(attrs) or EmailTemplateData(
            subject=validation.fold_subject_newlines(attrs["subject"]),
            body=attrs["body"],
            content_type=attrs.get("contentType") or "Plain",
            from_address=attrs.get("senderEmailAddress") or None,
        )


@extend_schema_serializer(component_name="InstantEmailSettings")
class InstantEmailSettingsSerializer(EmailSettingsSerializer):
    """The email of an instant order (always sent at once)."""

    sendingTimePolicy = None  # type: ignore[assignment]


class SmsSettingsSerializer(StoredSmsFields, CollectingSerializer):
    """The SMS to send: sender, text and when it may be sent; or a stored template (templateId)."""

    template_text_fields = ("sender", "body")

    sender = SenderField(
        rule=validation.is_valid_sms_sender,
        message=validation.MSG_INVALID_SMS_SENDER,
        max_length=max_length_of(SmsTemplate, "sender_number"),
        help_text="The sender shown to the recipient (trimmed): a number of at most 15 digits, optionally "
        "starting with +, or a name of at most 11 GSM letters, digits and spaces. Default: Altinn "
        "(configurable).",
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
        limit_length(self.fields["body"], settings.NOTIFICATIONS_MAX_SMS_BODY_CHARS)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        sender = (attrs.get("sender") or "").strip()
        stored = self.stored_sms(attrs)
        return {
            "template": stored or SmsTemplateData(body=attrs["body"], sender_number=sender or None),
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
        max_length=max_length_of(Order, "resource_id"),
        help_text="urn:altinn:resource:<id>, the Altinn resource the notification concerns.",
    )


def _resource_action_field() -> StrictCharField:
    return StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=max_length_of(Order, "resource_action"),
        help_text="The action on the resource a recipient must be authorised for; needs resourceId.",
    )


class _IdentifiedRecipientSerializer(CollectingSerializer):
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
        if not digits_only(value, validation.NIN_LENGTH):
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
        if not digits_only(value, validation.ORGANIZATION_NUMBER_LENGTH):
            raise serializers.ValidationError(validation.MSG_INVALID_ORGANIZATION_NUMBER)
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return self.shipment(
            attrs, RecipientData(organization_number=attrs["orgNumber"]), "recipientOrganization.orgNumber"
        )


class RecipientEmailSerializer(CollectingSerializer):
    """An email address, used as given."""

    emailAddress = email_address_field()
    emailSettings = EmailSettingsSerializer()

    def validate_emailAddress(self, value: str) -> str:
        return validated_email(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return {
            "notification_channel": NotificationChannel.EMAIL,
            "recipient": RecipientData(email_address=attrs["emailAddress"]),
            "identifier": "recipientEmail.emailAddress",
            "email_template": attrs["emailSettings"],
            "sms_template": None,
            "sending_time_policy": SendingTimePolicy.ANYTIME,
        }


class RecipientSmsSerializer(CollectingSerializer):
    """A mobile number, used as given."""

    phoneNumber = phone_number_field()
    smsSettings = SmsSettingsSerializer()

    def validate_phoneNumber(self, value: str) -> str:
        return validated_phone_number(value)

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


class RecipientExternalIdentitySerializer(_IdentifiedRecipientSerializer):
    """A person by external identity: an ID-porten email login or a self-identified user's username."""

    externalIdentity = RequiredTextField(
        message=MSG_EXTERNAL_IDENTITY_EMPTY,
        max_length=max_length_of(Recipient, "external_identity"),
        help_text="urn:altinn:person:idporten-email:{email} (sent to that address) or "
        "urn:altinn:person:legacy-selfidentified:{username} (looked up in the contact registry; "
        "urn:altinn:username:{username} and urn:altinn:party:username:{username} are the same kind).",
    )

    def validate_externalIdentity(self, value: str) -> str:
        if external_identity_parse(value) is None:
            raise serializers.ValidationError(MSG_EXTERNAL_IDENTITY_FORMAT)
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return self.shipment(
            attrs,
            RecipientData(external_identity=attrs["externalIdentity"]),
            "recipientExternalIdentity.externalIdentity",
        )


_RECIPIENT_KINDS = (
    "recipientEmail",
    "recipientSms",
    "recipientPerson",
    "recipientOrganization",
    "recipientExternalIdentity",
)


class NotificationRecipientSerializer(CollectingSerializer):
    """Exactly one recipient: an email address, a mobile number, a person, an organization or an external
    identity."""

    recipientEmail = RecipientEmailSerializer(required=False, allow_null=True)
    recipientSms = RecipientSmsSerializer(required=False, allow_null=True)
    recipientPerson = RecipientPersonSerializer(required=False, allow_null=True)
    recipientOrganization = RecipientOrganizationSerializer(required=False, allow_null=True)
    recipientExternalIdentity = RecipientExternalIdentitySerializer(required=False, allow_null=True)

    def cross_field_errors(self, data: Mapping[str, Any]) -> dict[str, list[str]]:
        given = [kind for kind in _RECIPIENT_KINDS if data.get(kind) is not None]
        if len(given) != 1:
            return {NON_FIELD: [MSG_ONE_RECIPIENT]}
        return {}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        (shipment,) = [value for value in attrs.values() if value is not None]
        result: dict[str, Any] = shipment
        return result
