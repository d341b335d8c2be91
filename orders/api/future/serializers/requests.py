"""The three requests of the future API: an order chain (with its reminders) and the two instant orders."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from orders import validation
from orders.api.fields import StrictCharField, latest_send_time
from orders.api.future.serializers.fields import (
    MAX_DELAY_DAYS,
    MSG_DELAY_DAYS,
    MSG_REMINDER_SEND_TIME_PASSED,
    MSG_REMINDER_TIME,
    MSG_SEND_TIME_PASSED,
    MSG_TIME_TO_LIVE,
    NON_FIELD,
    TIME_TO_LIVE_RANGE,
    ConditionEndpointV2Field,
    SendersReferenceField,
    SendTimeV2Field,
    StrictIntegerField,
    email_address_field,
    idempotency_id_field,
    phone_number_field,
    validated_email,
    validated_phone_number,
)
from orders.api.future.serializers.recipients import (
    InstantEmailSettingsSerializer,
    InstantSmsSettingsSerializer,
    NotificationRecipientSerializer,
)
from orders.api.serializers.base import CollectingSerializer
from orders.chains import ChainRequest, ShipmentRequest
from orders.instant import InstantEmail, InstantSms
from templates.records import EmailTemplateData, SmsTemplateData

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


class ReminderSerializer(CollectingSerializer):
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
class OrderChainRequestSerializer(CollectingSerializer):
    """An order chain: one notification to one recipient, and optionally reminders."""

    idempotencyId = idempotency_id_field()
    sendersReference = SendersReferenceField()
    requestedSendTime = SendTimeV2Field(
        passed_message=MSG_SEND_TIME_PASSED,
        help_text="When to send, with an offset or Z; not in the past. Default: now.",
    )
    conditionEndpoint = ConditionEndpointV2Field()
    dialogportenAssociation = DialogportenAssociationSerializer(required=False, allow_null=True)
    recipient = NotificationRecipientSerializer()
    reminders = ReminderSerializer(
        many=True,
        required=False,
        allow_null=True,
        help_text="At most 20 (NOTIFICATIONS_MAX_REMINDERS); each is an order of its own.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The count is checked before any reminder is validated (DRF's ListSerializer does that), so a
        # request with thousands costs no more than one with too many by one. Read from settings per
        # instance, so an override takes effect at once.
        reminders = self.fields["reminders"]
        assert isinstance(reminders, serializers.ListSerializer)
        reminders.max_length = settings.NOTIFICATIONS_MAX_REMINDERS  # type: ignore[attr-defined]
        reminders.error_messages["max_length"] = "A chain can have at most {max_length} reminders."

    def validate(self, attrs: dict[str, Any]) -> ChainRequest:
        self._refuse_late_reminders(attrs)
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
        association = attrs.get("dialogportenAssociation") or {}
        return ChainRequest(
            idempotency_id=attrs["idempotencyId"],
            main=main,
            reminders=reminders,
            # "" is no id, as the reference's empty-string checks have it.
            dialog_id=association.get("dialogId") or None,
            transmission_id=association.get("transmissionId") or None,
        )

    def _refuse_late_reminders(self, attrs: dict[str, Any]) -> None:
        """A reminder due delayDays after the main send time must be due within the bound too."""
        now = timezone.now()
        main_time = attrs.get("requestedSendTime") or now
        latest = latest_send_time(now)
        errors: list[dict[str, list[str]]] = []
        for reminder in attrs.get("reminders") or []:
            days = reminder.get("delayDays")
            # Compared as a delay, so the sum itself is never computed beyond the bound.
            late = days is not None and timedelta(days=days) > latest - main_time
            message = validation.MSG_REMINDER_TOO_LATE.format(days=settings.NOTIFICATIONS_MAX_SEND_AHEAD_DAYS)
            errors.append({"delayDays": [message]} if late else {})
        if any(errors):
            raise serializers.ValidationError({"reminders": errors})


# --- Instant orders ----------------------------------------------------------------------------------


class InstantRecipientSmsSerializer(serializers.Serializer[Any]):
    """The mobile number, how long the message may take to arrive, and the SMS."""

    phoneNumber = phone_number_field()
    timeToLiveInSeconds = StrictIntegerField(
        error_messages={"required": MSG_TIME_TO_LIVE, "null": MSG_TIME_TO_LIVE},
        help_text="60 to 172800: after this the message is no longer worth delivering.",
    )
    smsSettings = InstantSmsSettingsSerializer()

    def validate_phoneNumber(self, value: str) -> str:
        return validated_phone_number(value)

    def validate_timeToLiveInSeconds(self, value: int) -> int:
        if not TIME_TO_LIVE_RANGE[0] <= value <= TIME_TO_LIVE_RANGE[1]:
            raise serializers.ValidationError(MSG_TIME_TO_LIVE)
        return value


class InstantRecipientEmailSerializer(serializers.Serializer[Any]):
    """The email address and the email."""

    emailAddress = email_address_field()
    emailSettings = InstantEmailSettingsSerializer()

    def validate_emailAddress(self, value: str) -> str:
        return validated_email(value)


@extend_schema_serializer(component_name="InstantSmsNotificationOrderRequest")
class InstantSmsOrderRequestSerializer(serializers.Serializer[Any]):
    """One SMS to a known number, sent while the client waits."""

    idempotencyId = idempotency_id_field()
    sendersReference = SendersReferenceField()
    recipientSms = InstantRecipientSmsSerializer()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        recipient = attrs["recipientSms"]
        sms: SmsTemplateData = recipient["smsSettings"]["template"]
        return {
            "idempotency_id": attrs["idempotencyId"],
            "senders_reference": attrs.get("sendersReference") or None,
            "message": InstantSms(
                phone_number=recipient["phoneNumber"],
                time_to_live_seconds=recipient["timeToLiveInSeconds"],
                template=sms,
            ),
        }


@extend_schema_serializer(component_name="InstantEmailNotificationOrderRequest")
class InstantEmailOrderRequestSerializer(serializers.Serializer[Any]):
    """One email to a known address, sent while the client waits."""

    idempotencyId = idempotency_id_field()
    sendersReference = SendersReferenceField()
    recipientEmail = InstantRecipientEmailSerializer()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        recipient = attrs["recipientEmail"]
        email: EmailTemplateData = recipient["emailSettings"]
        return {
            "idempotency_id": attrs["idempotencyId"],
            "senders_reference": attrs.get("sendersReference") or None,
            "message": InstantEmail(email_address=recipient["emailAddress"], template=email),
        }
