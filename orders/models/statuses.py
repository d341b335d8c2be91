"""Statuses and kinds of orders and notifications, stored as their wire names (``Failed_RecipientReserved``),
so the database, the API and the admin speak one vocabulary."""

from __future__ import annotations

from django.db import models


class OrderStatus(models.TextChoices):
    REGISTERED = "Registered"
    PROCESSING = "Processing"
    PROCESSED = "Processed"
    COMPLETED = "Completed"
    SEND_CONDITION_NOT_MET = "SendConditionNotMet"
    CANCELLED = "Cancelled"


ORDER_FINAL_STATUSES = frozenset(
    {OrderStatus.COMPLETED, OrderStatus.SEND_CONDITION_NOT_MET, OrderStatus.CANCELLED}
)


class OrderType(models.TextChoices):
    """What kind of shipment an order is (the reference's OrderType)."""

    NOTIFICATION = "Notification"  # a v1 order, or the main notification of an order chain
    REMINDER = "Reminder"  # a reminder of an order chain: an order of its own, sent later
    INSTANT = "Instant"  # one message sent synchronously by POST /future/orders/instant/*
    COMPOSED = "Composed"  # one email with attachments, POST /future/orders/composed-email


class NotificationChannel(models.TextChoices):
    EMAIL = "Email"
    SMS = "Sms"
    EMAIL_PREFERRED = "EmailPreferred"
    SMS_PREFERRED = "SmsPreferred"
    EMAIL_AND_SMS = "EmailAndSms"


class SendingTimePolicy(models.TextChoices):
    ANYTIME = "Anytime"
    DAYTIME = "Daytime"


class EmailStatus(models.TextChoices):
    NEW = "New"
    SENDING = "Sending"
    SUCCEEDED = "Succeeded"
    DELIVERED = "Delivered"
    FAILED = "Failed"
    FAILED_RECIPIENT_RESERVED = "Failed_RecipientReserved"
    FAILED_RECIPIENT_NOT_IDENTIFIED = "Failed_RecipientNotIdentified"
    FAILED_INVALID_EMAIL_FORMAT = "Failed_InvalidEmailFormat"
    FAILED_SUPPRESSED_RECIPIENT = "Failed_SupressedRecipient"  # sic: the wire spelling of the reference
    FAILED_TRANSIENT_ERROR = "Failed_TransientError"
    FAILED_BOUNCED = "Failed_Bounced"
    FAILED_FILTERED_SPAM = "Failed_FilteredSpam"
    FAILED_QUARANTINED = "Failed_Quarantined"
    FAILED_TTL = "Failed_TTL"
    # Composed emails: an attachment could not be fetched for good (a 4xx, a refused host or type), or
    # the attachments are larger than the limits. The reference calls the first Failed_InvalidSasUrl.
    FAILED_INVALID_ATTACHMENT = "Failed_InvalidAttachment"
    FAILED_PAYLOAD_TOO_LARGE = "Failed_PayloadTooLarge"


class SmsStatus(models.TextChoices):
    NEW = "New"
    SENDING = "Sending"
    ACCEPTED = "Accepted"
    DELIVERED = "Delivered"
    FAILED = "Failed"
    FAILED_INVALID_RECIPIENT = "Failed_InvalidRecipient"
    FAILED_RECIPIENT_RESERVED = "Failed_RecipientReserved"
    FAILED_BARRED_RECEIVER = "Failed_BarredReceiver"
    FAILED_DELETED = "Failed_Deleted"
    FAILED_EXPIRED = "Failed_Expired"
    FAILED_UNDELIVERED = "Failed_Undelivered"
    FAILED_RECIPIENT_NOT_IDENTIFIED = "Failed_RecipientNotIdentified"
    FAILED_REJECTED = "Failed_Rejected"
    FAILED_TTL = "Failed_TTL"


# Not final: the notification can still move. Everything else is final and is never overwritten.
EMAIL_PENDING_STATUSES = frozenset({EmailStatus.NEW, EmailStatus.SENDING, EmailStatus.SUCCEEDED})
SMS_PENDING_STATUSES = frozenset({SmsStatus.NEW, SmsStatus.SENDING, SmsStatus.ACCEPTED})
EMAIL_SUCCESS_STATUSES = frozenset({EmailStatus.SUCCEEDED, EmailStatus.DELIVERED})
SMS_SUCCESS_STATUSES = frozenset({SmsStatus.ACCEPTED, SmsStatus.DELIVERED})
# Every Failed_* status: the admin's "has failed" filter and its partial indexes, the dashboard's rates.
EMAIL_FAILED_STATUSES = frozenset(s for s in EmailStatus if s.startswith("Failed"))
SMS_FAILED_STATUSES = frozenset(s for s in SmsStatus if s.startswith("Failed"))
