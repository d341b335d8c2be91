"""Response serializers of the v1 orders API: camelCase, null fields omitted, enums as strings.

Status descriptions are the reference's texts, verbatim (typos included: clients may match on them).
The serializers of rows that can number in the thousands (notifications) build their dicts directly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orders.api.serializers import (
    CHANNEL_VALUES,
    EmailTemplateSerializer,
    OmitNullSerializer,
    RecipientSerializer,
    SmsTemplateSerializer,
)
from orders.models import (
    EMAIL_SUCCESS_STATUSES,
    SMS_SUCCESS_STATUSES,
    EmailNotification,
    EmailStatus,
    Order,
    OrderStatus,
    SmsNotification,
    SmsStatus,
)
from orders.selectors import OrderNotifications
from orders.services import LookupStatus, OrderReceipt, receipt_body

API_PATH = "/notifications/api/v1"

_REGISTERED = "Order has been registered and is awaiting requested send time before processing."
ORDER_STATUS_DESCRIPTIONS = {
    OrderStatus.REGISTERED: _REGISTERED,
    OrderStatus.PROCESSING: "Order processing is ongoing. Notifications are being generated.",
    OrderStatus.PROCESSED: "Order processing is done. Notifications have been successfully generated.",
    OrderStatus.COMPLETED: "Order processing is completed. All notifications have a final status.",
    OrderStatus.SEND_CONDITION_NOT_MET: "Order processing was stopped due to send condition not being met.",
    OrderStatus.CANCELLED: "Order processing was stopped due to order being cancelled.",
}

EMAIL_STATUS_DESCRIPTIONS = {
    EmailStatus.NEW: "The email has been created, but has not been picked up for processing yet.",
    EmailStatus.SENDING: "The email is being processed and will be attempted sent shortly.",
    EmailStatus.SUCCEEDED: (
        "The email has been accepted by the third party email service and will be sent shortly."
    ),
    EmailStatus.DELIVERED: (
        "The email was delivered to the recipient. No errors reported, making it likely it was received by "
        "the recipient."
    ),
    EmailStatus.FAILED: "The email was not sent due to an unspecified failure.",
    EmailStatus.FAILED_RECIPIENT_RESERVED: (
        "The email was not sent because the recipient has reserved themselves from electronic communication."
    ),
    EmailStatus.FAILED_RECIPIENT_NOT_IDENTIFIED: (
        "The email was not sent because the recipient's email address was not found."
    ),
    EmailStatus.FAILED_INVALID_EMAIL_FORMAT: (
        "The email was not sent because the recipient’s email address is in an invalid format."
    ),
    EmailStatus.FAILED_SUPPRESSED_RECIPIENT: (
        "The email was not sent because the recipient’s email address is suppressed by the third party "
        "email service."
    ),
    EmailStatus.FAILED_TRANSIENT_ERROR: (
        "The email was not sent due to a transient error. We will retry sending the email."
    ),
    EmailStatus.FAILED_BOUNCED: (
        "The email hard bounced, which may have happened because the email address does not exist or the "
        "domain is invalid."
    ),
    EmailStatus.FAILED_FILTERED_SPAM: (
        "The email was identified as spam, and was rejected or blocked (not quarantined)."
    ),
    EmailStatus.FAILED_QUARANTINED: "The email was quarantined (as spam, bulk mail, or phising).",
    EmailStatus.FAILED_TTL: (
        "The email was in indefinite state Succeeded for too long (TTL), and was subsequently set to failed."
    ),
}

SMS_STATUS_DESCRIPTIONS = {
    SmsStatus.NEW: "The SMS has been created, but has not been picked up for processing yet.",
    SmsStatus.SENDING: "The SMS is being processed and will be attempted sent shortly.",
    SmsStatus.ACCEPTED: "The SMS has been accepted by the gateway service and will be sent shortly.",
    SmsStatus.DELIVERED: "The SMS was successfully delivered to its destination.",
    SmsStatus.FAILED: "The SMS was not delivered due to an unspecified failure.",
    SmsStatus.FAILED_INVALID_RECIPIENT: (
        "The SMS was not delivered because the recipient's mobile number was invalid."
    ),
    SmsStatus.FAILED_RECIPIENT_RESERVED: (
        "The SMS was not sent because the recipient has reserved themselves from electronic communication."
    ),
    SmsStatus.FAILED_BARRED_RECEIVER: (
        "The SMS was not delivered because the recipient's number is barred, blocked or not in use."
    ),
    SmsStatus.FAILED_DELETED: "The SMS was not delivered because the message has been deleted.",
    SmsStatus.FAILED_EXPIRED: "The SMS was not delivered because it has expired.",
    SmsStatus.FAILED_UNDELIVERED: (
        "The SMS was not delivered due to invalid number or no available route to destination."
    ),
    SmsStatus.FAILED_RECIPIENT_NOT_IDENTIFIED: (
        "The SMS was not delivered because the recipient's mobile number was not found."
    ),
    SmsStatus.FAILED_REJECTED: "The SMS was not delivered because it was rejected.",
    SmsStatus.FAILED_TTL: (
        "The SMS was in indefinite state Accepted for too long (TTL), and was subsequently set to failed."
    ),
}

# Failed_TTL goes out as plain "Failed" (with the TTL description), as in the reference.
EMAIL_WIRE_STATUSES = [status for status in EmailStatus.values if status != EmailStatus.FAILED_TTL]
SMS_WIRE_STATUSES = [status for status in SmsStatus.values if status != SmsStatus.FAILED_TTL]
_TTL_STATUSES = frozenset({EmailStatus.FAILED_TTL, SmsStatus.FAILED_TTL})


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


def _timestamp(value: datetime) -> str:
    return str(serializers.DateTimeField().to_representation(value))


# --- Receipt ---------------------------------------------------------------------------------------


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

    def to_representation(self, instance: OrderReceipt) -> dict[str, Any]:
        return receipt_body(
            order_id=instance.order.id, lookup=instance.recipient_lookup, sms_parts=instance.sms_part_count
        )


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
            "lastUpdate": _timestamp(instance.status_changed_at),
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


# --- Notifications ---------------------------------------------------------------------------------


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
    return {
        "id": str(row.id),
        "succeeded": succeeded,
        "recipient": {key: value for key, value in recipient.items() if value is not None},
        "sendStatus": {
            "status": "Failed" if row.status in _TTL_STATUSES else row.status,
            "description": description,
            "lastUpdate": _timestamp(row.status_changed_at),
        },
    }


class EmailNotificationWithResultSerializer(serializers.Serializer[EmailNotification]):
    id = serializers.UUIDField()
    succeeded = serializers.BooleanField(help_text="Succeeded or Delivered.")
    recipient = EmailNotificationRecipientSerializer()
    sendStatus = EmailSendStatusSerializer()

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


# --- Errors ----------------------------------------------------------------------------------------


class ProblemSerializer(serializers.Serializer[Any]):
    """Problem details (RFC 9457), served as application/problem+json."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField(required=False)


class ValidationProblemSerializer(ProblemSerializer):
    """A 400: ``errors`` maps the JSON path of each offending field (``recipients[0].mobileNumber``;
    ``""`` for the request as a whole) to its messages. At most 100 paths are listed; ``""`` then says
    how many more errors there were, or which recipients were not checked."""

    # The metaclass moves declared fields off the class, so this does not shadow Serializer.errors.
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))  # type: ignore[assignment]
