"""Response serializers of the future API: receipts, order chains, shipments and the status feed.

Statuses are the reference's ProcessingLifecycle names (§2.7): ``Order_Completed``, ``SMS_Delivered``,
``Email_Failed_Bounced``. Rows that can number in the thousands are built as dicts directly.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from rest_framework import serializers

from orders.api.output import API_PATH, SMS_PART_COUNT_HELP
from orders.api.output.notifications import SERVED_RECIPIENTS_HELP, ServedRecipientSerializer
from orders.models import (
    EmailNotification,
    EmailStatus,
    Order,
    OrderChain,
    OrderStatus,
    OrderType,
    SmsNotification,
    SmsStatus,
    StatusFeedEntry,
)
from orders.services import order_sms_part_count

# The lifecycle spells two email statuses differently from the notification's own status.
_EMAIL_LIFECYCLE_RENAMES: dict[str, str] = {
    EmailStatus.FAILED_INVALID_EMAIL_FORMAT.value: "Email_Failed_InvalidFormat",
    EmailStatus.FAILED_SUPPRESSED_RECIPIENT.value: "Email_Failed_SuppressedRecipient",
}
ORDER_LIFECYCLE = [f"Order_{status}" for status in OrderStatus.values]
SMS_LIFECYCLE = [f"SMS_{status}" for status in SmsStatus.values]
EMAIL_LIFECYCLE = [_EMAIL_LIFECYCLE_RENAMES.get(s, f"Email_{s}") for s in EmailStatus.values]
FEED_ORDER_LIFECYCLE = ["Order_Completed", "Order_SendConditionNotMet", "Order_Cancelled"]
NOTIFICATION_LIFECYCLE = SMS_LIFECYCLE + EMAIL_LIFECYCLE
SHIPMENT_TYPES = OrderType.values
CHAIN_TYPES = OrderChain.Type.values
# The discriminator of a manifest's recipients: "SMS" upper-case, "Email" mixed case, as in the reference.
SMS_TYPE, EMAIL_TYPE = "SMS", "Email"
RECIPIENT_TYPES = [SMS_TYPE, EMAIL_TYPE]


def order_lifecycle(status: str) -> str:
    return f"Order_{status}"


def notification_lifecycle(channel: str, status: str) -> str:
    if channel == "Sms":
        return f"SMS_{status}"
    return _EMAIL_LIFECYCLE_RENAMES.get(status, f"Email_{status}")


def chain_url(chain_id: object) -> str:
    """The Location of a new order chain (served, unlike the reference's)."""
    return f"{settings.NOTIFICATIONS_BASE_URI}{API_PATH}/future/orders/chain/{chain_id}"


def _timestamp(value: datetime) -> str:
    return str(serializers.DateTimeField().to_representation(value))


def _without_nulls(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


# --- Receipts ----------------------------------------------------------------------------------------


class ShipmentReceiptSerializer(serializers.Serializer[Any]):
    shipmentId = serializers.UUIDField(
        help_text="The order of this notification: use it with GET /future/shipment/{id} and the v1 "
        "GET /orders/{id} endpoints."
    )
    sendersReference = serializers.CharField(required=False)
    smsPartCount = serializers.IntegerField(required=False, help_text=SMS_PART_COUNT_HELP)


class NotificationReceiptSerializer(ShipmentReceiptSerializer):
    reminders = ShipmentReceiptSerializer(
        many=True, required=False, help_text="One per reminder, in the request's order; absent without."
    )


class OrderChainResponseSerializer(serializers.Serializer[Any]):
    """The receipt of an order chain."""

    notificationOrderId = serializers.UUIDField(
        help_text="The order chain's id (not a shipment id): GET /future/orders/chain/{id}."
    )
    notification = NotificationReceiptSerializer()


class InstantOrderResponseSerializer(serializers.Serializer[Any]):
    """The receipt of an instant order."""

    notificationOrderId = serializers.UUIDField()
    notification = ShipmentReceiptSerializer()


# --- Order chain -------------------------------------------------------------------------------------


class ShipmentSummarySerializer(serializers.Serializer[Order]):
    shipmentId = serializers.UUIDField()
    type = serializers.ChoiceField(SHIPMENT_TYPES)
    sendersReference = serializers.CharField(required=False)
    requestedSendTime = serializers.DateTimeField()
    status = serializers.ChoiceField(ORDER_LIFECYCLE)
    lastUpdate = serializers.DateTimeField(help_text="When the order entered this status.")
    smsPartCount = serializers.IntegerField(required=False, help_text=SMS_PART_COUNT_HELP)

    def to_representation(self, instance: Order) -> dict[str, Any]:
        return _without_nulls(
            {
                "shipmentId": str(instance.id),
                "type": instance.type,
                "sendersReference": instance.senders_reference,
                "requestedSendTime": _timestamp(instance.requested_send_time),
                "status": order_lifecycle(instance.status),
                "lastUpdate": _timestamp(instance.status_changed_at),
                "smsPartCount": order_sms_part_count(instance),
            }
        )


class ChainNotificationSerializer(ShipmentSummarySerializer):
    reminders = ShipmentSummarySerializer(many=True, required=False)


class OrderChainSerializer(serializers.Serializer[OrderChain]):
    """An order chain: its main notification (or instant message) and its reminders, with their status."""

    notificationOrderId = serializers.UUIDField()
    type = serializers.ChoiceField(CHAIN_TYPES)
    idempotencyId = serializers.CharField()
    created = serializers.DateTimeField()
    notification = ChainNotificationSerializer()

    def to_representation(self, instance: OrderChain) -> dict[str, Any]:
        # The receipt lists the reminders in the request's order.
        orders = {order.id: order for order in instance.orders.all()}
        main = next(o for o in orders.values() if o.type != OrderType.REMINDER)
        receipt = (instance.receipt or {}).get("notification", {})
        reminder_ids = [item["shipmentId"] for item in receipt.get("reminders", [])]
        reminders = [orders[order_id] for order_id in map(uuid.UUID, reminder_ids) if order_id in orders]
        notification = ShipmentSummarySerializer(main).data
        if reminders:
            notification["reminders"] = [ShipmentSummarySerializer(order).data for order in reminders]
        return {
            "notificationOrderId": str(instance.id),
            "type": instance.type,
            "idempotencyId": instance.idempotency_id,
            "created": _timestamp(instance.created_at),
            "notification": notification,
        }


# --- Shipment ----------------------------------------------------------------------------------------


class ManifestRecipientSerializer(serializers.Serializer[Any]):
    type = serializers.ChoiceField(RECIPIENT_TYPES, help_text="The channel: SMS or Email.")
    destination = serializers.CharField(
        required=False,
        help_text="The mobile number or email address; absent when there was none to send to (a "
        "reserved or unidentified recipient).",
    )
    status = serializers.ChoiceField(NOTIFICATION_LIFECYCLE)
    lastUpdate = serializers.DateTimeField()
    servedRecipients = ServedRecipientSerializer(many=True, required=False, help_text=SERVED_RECIPIENTS_HELP)


class DeliveryManifestSerializer(serializers.Serializer[Any]):
    """A shipment (order) with the status of every notification generated for it."""

    shipmentId = serializers.UUIDField()
    sendersReference = serializers.CharField(required=False)
    type = serializers.ChoiceField(SHIPMENT_TYPES)
    status = serializers.ChoiceField(ORDER_LIFECYCLE)
    lastUpdate = serializers.DateTimeField(help_text="When the order entered this status.")
    recipients = ManifestRecipientSerializer(
        many=True, help_text="Emails first, then SMS, each in recipient order; empty before generation."
    )


def _manifest_recipient(kind: str, notification: EmailNotification | SmsNotification) -> dict[str, Any]:
    destination = (
        notification.to_address
        if isinstance(notification, EmailNotification)
        else (notification.mobile_number)
    )
    # "type" first: it is the reference's JSON polymorphism discriminator.
    return _without_nulls(
        {
            "type": kind,
            "destination": destination or None,
            "status": notification_lifecycle("Sms" if kind == SMS_TYPE else "Email", notification.status),
            "lastUpdate": _timestamp(notification.status_changed_at),
            "servedRecipients": getattr(notification, "served_recipients", None),
        }
    )


def delivery_manifest(
    order: Order, emails: list[EmailNotification], sms: list[SmsNotification]
) -> dict[str, Any]:
    """The manifest of one shipment (built directly: an order can have 100,000 notifications)."""
    recipients = [_manifest_recipient(EMAIL_TYPE, n) for n in emails]
    recipients += [_manifest_recipient(SMS_TYPE, n) for n in sms]
    return _without_nulls(
        {
            "shipmentId": str(order.id),
            "sendersReference": order.senders_reference,
            "type": order.type,
            "status": order_lifecycle(order.status),
            "lastUpdate": _timestamp(order.status_changed_at),
            "recipients": recipients,
        }
    )


# --- Status feed -------------------------------------------------------------------------------------


class FeedRecipientSerializer(serializers.Serializer[Any]):
    destination = serializers.CharField(
        required=False, help_text="The mobile number or email address; absent when there was none."
    )
    status = serializers.ChoiceField(NOTIFICATION_LIFECYCLE)
    lastUpdate = serializers.DateTimeField()


class StatusFeedEntrySerializer(serializers.Serializer[StatusFeedEntry]):
    """An order that reached a final status, with its notifications' statuses at that moment."""

    shipmentId = serializers.UUIDField()
    sendersReference = serializers.CharField(required=False)
    recipients = FeedRecipientSerializer(many=True)
    status = serializers.ChoiceField(FEED_ORDER_LIFECYCLE)
    lastUpdate = serializers.DateTimeField(help_text="When the order reached this status.")
    shipmentType = serializers.ChoiceField(SHIPMENT_TYPES)
    sequenceNumber = serializers.IntegerField(
        help_text="The entry's position in the feed: pass the last one you read as seq to continue."
    )

    def to_representation(self, instance: StatusFeedEntry) -> dict[str, Any]:
        return _without_nulls(
            {
                "shipmentId": str(instance.order.id),
                "sendersReference": instance.order.senders_reference,
                "recipients": [
                    _without_nulls(
                        {
                            # Left out once the personal-data retention has passed (orders.feed).
                            "destination": item.get("destination") or None,
                            "status": notification_lifecycle(item["channel"], item["status"]),
                            "lastUpdate": _timestamp(datetime.fromisoformat(item["lastUpdate"])),
                        }
                    )
                    for item in instance.recipients
                ],
                "status": order_lifecycle(instance.order_status),
                "lastUpdate": _timestamp(instance.last_update),
                "shipmentType": instance.order.type,
                "sequenceNumber": instance.id,
            }
        )


# --- Problems ----------------------------------------------------------------------------------------


class AltinnProblemSerializer(serializers.Serializer[Any]):
    """Problem details with one of the reference's codes (type urn:altinn:error:NOT-0000x)."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    code = serializers.CharField(
        help_text="NOT-00001 missing contact information, NOT-00003 shipment not "
        "found, NOT-00004 temporary failure."
    )
    detail = serializers.CharField(required=False)
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="422: the JSON path of each recipient without contact information.",
    )
