"""Response serializers of the v1 orders: the receipt, an order as registered, an order with its status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orders.api.output.statuses import ORDER_STATUS_DESCRIPTIONS
from orders.api.serializers import (
    CHANNEL_VALUES,
    EmailTemplateSerializer,
    OmitNullSerializer,
    RecipientSerializer,
    SmsTemplateSerializer,
)
from orders.models import Order, OrderStatus
from orders.services import LookupStatus, OrderReceipt
from templates.warnings import WARNING_CODES

API_PATH = "/notifications/api/v1"

SMS_PART_COUNT_HELP = (
    "Orders with an SMS text: how many parts (segments) the text is sent as, and billed as. GSM-7 "
    "(including the extension table, whose characters count twice, and Norwegian æøåÆØÅ) holds 160 "
    "characters in one part and 153 per part beyond; any other character makes the text UCS-2, 70 and "
    "67. With $recipientName$ or $recipientNumber$ each recipient's text is counted again after "
    "substitution and stored per notification."
)


def order_url(order_id: object, suffix: str = "") -> str:
    """The absolute URL of an order (the Location header and ``links``)."""
    return f"{settings.NOTIFICATIONS_BASE_URI}{API_PATH}/orders/{order_id}{suffix}"


def timestamp(value: datetime) -> str:
    """A time as the API writes it (ISO 8601 with the offset, as DRF renders it)."""
    return str(serializers.DateTimeField().to_representation(value))


# --- Receipt ---------------------------------------------------------------------------------------


class ContentWarningSerializer(serializers.Serializer[Any]):
    """Something about the order's texts the sender may want to change; never a reason to refuse it."""

    code = serializers.ChoiceField(
        list(WARNING_CODES),
        help_text="SmsUnicode: characters outside GSM-7 make the SMS UCS-2 (more parts); SmsManyParts: "
        "more parts than the service's warning limit; SmsLink: a link in an SMS; KeywordNotSubstituted: "
        "a keyword some recipients will not get filled in.",
    )
    message = serializers.CharField()
    field = serializers.CharField(required=False, help_text="The JSON path of the text in the request.")


WARNINGS_HELP = "Content warnings about the order's texts (the order is accepted); absent when none."


class RecipientLookupResultSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(
        [LookupStatus.SUCCESS, LookupStatus.PARTIAL_SUCCESS, LookupStatus.FAILED],
        help_text="Success: every looked-up recipient is reachable; PartialSuccess: some are; Failed: none.",
    )
    isReserved = serializers.ListField(
        child=serializers.CharField(),
        help_text="National identity numbers of persons reserved against digital contact.",
    )
    missingContact = serializers.ListField(
        child=serializers.CharField(),
        help_text="National identity and organization numbers without contact details for the channel.",
    )


class NotificationOrderRequestResponseSerializer(serializers.Serializer[OrderReceipt]):
    """The receipt of a registered order."""

    orderId = serializers.UUIDField()
    recipientLookup = RecipientLookupResultSerializer(
        required=False,
        help_text="Present when a recipient is given by national identity number or organization number.",
    )
    smsPartCount = serializers.IntegerField(
        required=False,
        help_text=SMS_PART_COUNT_HELP,
    )
    warnings = ContentWarningSerializer(many=True, required=False, help_text=WARNINGS_HELP)

    def to_representation(self, instance: OrderReceipt) -> dict[str, Any]:
        return instance.body()


# --- Orders ----------------------------------------------------------------------------------------


class OrderLinksSerializer(serializers.Serializer[Any]):
    self = serializers.URLField()
    status = serializers.URLField()


class NotificationOrderBaseSerializer(OmitNullSerializer):
    id = serializers.UUIDField()
    creator = serializers.CharField()
    sendersReference = serializers.CharField(source="senders_reference", required=False)
    requestedSendTime = serializers.DateTimeField(source="requested_send_time")
    created = serializers.DateTimeField(source="created_at")
    notificationChannel = serializers.ChoiceField(CHANNEL_VALUES, source="notification_channel")
    ignoreReservation = serializers.BooleanField(source="ignore_reservation", required=False)
    resourceId = serializers.CharField(source="resource_id", required=False)
    resourceAction = serializers.CharField(source="resource_action", required=False)
    conditionEndpoint = serializers.URLField(source="condition_endpoint", required=False)
    statusCallbackUrl = serializers.URLField(source="status_callback_url", required=False)


class NotificationOrderSerializer(NotificationOrderBaseSerializer):
    """A notification order as registered: its recipients, templates and links."""

    recipients = RecipientSerializer(source="recipients.all", many=True)
    emailTemplate = EmailTemplateSerializer(source="email_template", required=False)
    smsTemplate = SmsTemplateSerializer(source="sms_template", required=False)
    links = serializers.SerializerMethodField()

    @extend_schema_field(OrderLinksSerializer)
    def get_links(self, order: Order) -> dict[str, str]:
        return {"self": order_url(order.id), "status": order_url(order.id, "/status")}


class NotificationOrderListSerializer(serializers.Serializer[Any]):
    """The creator's orders with the requested sender's reference (an empty list when there are none)."""

    count = serializers.IntegerField()
    orders = NotificationOrderSerializer(many=True)


class ProcessingStatusSerializer(serializers.Serializer[Order]):
    status = serializers.ChoiceField(OrderStatus.values)
    description = serializers.CharField()
    lastUpdate = serializers.DateTimeField(help_text="When the order entered this status.")

    def to_representation(self, instance: Order) -> dict[str, Any]:
        return {
            "status": instance.status,
            "description": ORDER_STATUS_DESCRIPTIONS[OrderStatus(instance.status)],
            "lastUpdate": timestamp(instance.status_changed_at),
        }


class NotificationLinksSerializer(serializers.Serializer[Any]):
    self = serializers.URLField()


class ChannelStatusSummarySerializer(serializers.Serializer[Any]):
    links = NotificationLinksSerializer()
    generated = serializers.IntegerField(help_text="Notifications generated so far.")
    succeeded = serializers.IntegerField(
        help_text="Of which sent successfully: email Succeeded or Delivered; SMS Accepted or Delivered."
    )


class NotificationsStatusSummarySerializer(serializers.Serializer[Order]):
    """Counts per channel; a channel appears once it has notifications."""

    email = ChannelStatusSummarySerializer(required=False)
    sms = ChannelStatusSummarySerializer(required=False)

    def to_representation(self, instance: Order) -> dict[str, Any] | None:  # type: ignore[override]
        summary: dict[str, Any] = {}
        counts = (
            ("email", instance.email_generated, instance.email_succeeded),  # type: ignore[attr-defined]
            ("sms", instance.sms_generated, instance.sms_succeeded),  # type: ignore[attr-defined]
        )
        for channel, generated, succeeded in counts:
            if generated:
                summary[channel] = {
                    "links": {"self": order_url(instance.id, f"/notifications/{channel}")},
                    "generated": generated,
                    "succeeded": succeeded,
                }
        return summary or None


class NotificationOrderWithStatusSerializer(NotificationOrderBaseSerializer):
    """An order with its processing status and the counts of its notifications per channel."""

    processingStatus = ProcessingStatusSerializer(source="*")
    notificationsStatusSummary = NotificationsStatusSummarySerializer(
        source="*", required=False, help_text="Present once notifications have been generated."
    )
