"""Response serializers of an order's notifications and their send status.

Those rows can number in the thousands, so the serializers build their dicts directly.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from orders.api.output.orders import timestamp
from orders.api.output.statuses import (
    EMAIL_STATUS_DESCRIPTIONS,
    EMAIL_WIRE_STATUSES,
    SMS_STATUS_DESCRIPTIONS,
    SMS_WIRE_STATUSES,
    TTL_STATUSES,
)
from orders.api.serializers import OmitNullSerializer
from orders.models import (
    EMAIL_SUCCESS_STATUSES,
    SMS_SUCCESS_STATUSES,
    EmailNotification,
    EmailStatus,
    SmsNotification,
    SmsStatus,
)
from orders.selectors import OrderNotifications


class SendStatusSerializer(serializers.Serializer[Any]):
    description = serializers.CharField()
    lastUpdate = serializers.DateTimeField(help_text="When the notification entered this status.")


class EmailSendStatusSerializer(SendStatusSerializer):
    status = serializers.ChoiceField(EMAIL_WIRE_STATUSES)


class SmsSendStatusSerializer(SendStatusSerializer):
    status = serializers.ChoiceField(SMS_WIRE_STATUSES)


class EmailNotificationRecipientSerializer(serializers.Serializer[Any]):
    organizationNumber = serializers.CharField(required=False)
    nationalIdentityNumber = serializers.CharField(required=False)
    emailAddress = serializers.CharField(required=False)


class SmsNotificationRecipientSerializer(serializers.Serializer[Any]):
    organizationNumber = serializers.CharField(required=False)
    nationalIdentityNumber = serializers.CharField(required=False)
    mobileNumber = serializers.CharField(required=False)


class ServedRecipientSerializer(serializers.Serializer[Any]):
    organizationNumber = serializers.CharField(required=False)
    nationalIdentityNumber = serializers.CharField(required=False)
    externalIdentity = serializers.CharField(required=False)
    emailAddress = serializers.CharField(required=False)
    mobileNumber = serializers.CharField(required=False)


SERVED_RECIPIENTS_HELP = (
    "Only when this notification serves more than one recipient of the order (the same address reached "
    "through several recipients gets one notification): every recipient it serves, as registered, in "
    "recipient order."
)


def _notification(
    row: EmailNotification | SmsNotification,
    address_key: str,
    address: str,
    succeeded: bool,
    description: str,
) -> dict[str, Any]:
    recipient = {
        "organizationNumber": row.recipient_organization_number,
        "nationalIdentityNumber": row.recipient_national_identity_number,
        # Empty for a reserved or unidentified recipient: then the key is left out.
        address_key: address or None,
    }
    body: dict[str, Any] = {
        "id": str(row.id),
        "succeeded": succeeded,
        "recipient": {key: value for key, value in recipient.items() if value is not None},
        "sendStatus": {
            "status": "Failed" if row.status in TTL_STATUSES else row.status,
            "description": description,
            "lastUpdate": timestamp(row.status_changed_at),
        },
    }
    served = getattr(row, "served_recipients", None)
    if served:
        body["servedRecipients"] = served
    return body


class EmailNotificationWithResultSerializer(serializers.Serializer[EmailNotification]):
    id = serializers.UUIDField()
    succeeded = serializers.BooleanField(help_text="Succeeded or Delivered.")
    recipient = EmailNotificationRecipientSerializer()
    sendStatus = EmailSendStatusSerializer()
    servedRecipients = ServedRecipientSerializer(many=True, required=False, help_text=SERVED_RECIPIENTS_HELP)

    def to_representation(self, instance: EmailNotification) -> dict[str, Any]:
        return _notification(
            instance,
            "emailAddress",
            instance.to_address,
            instance.status in EMAIL_SUCCESS_STATUSES,
            EMAIL_STATUS_DESCRIPTIONS[EmailStatus(instance.status)],
        )


class SmsNotificationWithResultSerializer(serializers.Serializer[SmsNotification]):
    id = serializers.UUIDField()
    succeeded = serializers.BooleanField(help_text="Accepted or Delivered.")
    recipient = SmsNotificationRecipientSerializer()
    sendStatus = SmsSendStatusSerializer()
    servedRecipients = ServedRecipientSerializer(many=True, required=False, help_text=SERVED_RECIPIENTS_HELP)

    def to_representation(self, instance: SmsNotification) -> dict[str, Any]:
        return _notification(
            instance,
            "mobileNumber",
            instance.mobile_number,
            instance.status in SMS_SUCCESS_STATUSES,
            SMS_STATUS_DESCRIPTIONS[SmsStatus(instance.status)],
        )


class NotificationSummaryBaseSerializer(OmitNullSerializer):
    orderId = serializers.UUIDField(source="order.id")
    sendersReference = serializers.CharField(source="order.senders_reference", required=False)
    generated = serializers.SerializerMethodField()
    succeeded = serializers.SerializerMethodField()

    success_statuses: frozenset[str] = frozenset()

    def get_generated(self, summary: OrderNotifications) -> int:
        return len(summary.notifications)

    def get_succeeded(self, summary: OrderNotifications) -> int:
        return sum(1 for row in summary.notifications if row.status in self.success_statuses)


class EmailNotificationSummarySerializer(NotificationSummaryBaseSerializer):
    """The send status of every email notification of an order."""

    notifications = EmailNotificationWithResultSerializer(many=True)
    success_statuses = EMAIL_SUCCESS_STATUSES


class SmsNotificationSummarySerializer(NotificationSummaryBaseSerializer):
    """The send status of every SMS notification of an order."""

    notifications = SmsNotificationWithResultSerializer(many=True)
    success_statuses = SMS_SUCCESS_STATUSES
