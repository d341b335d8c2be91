"""Orders, their recipients and the email and SMS notifications generated from them.

Statuses are stored as their wire names (``Failed_RecipientReserved``), so the database, the API and
the admin speak one vocabulary. Status changes are conditional UPDATEs in services, never ``save()``.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper

from orders.audit import AuditEntry
from orders.registry.models import Organization, OrganizationContact, Person
from templates.models import EmailTemplate, SmsTemplate

__all__ = [
    "AuditEntry",
    "EmailNotification",
    "EmailStatus",
    "NotificationChannel",
    "IdempotencyKey",
    "Order",
    "OrderChain",
    "OrderStatus",
    "OrderType",
    "Organization",
    "OrganizationContact",
    "Person",
    "Recipient",
    "SendingTimePolicy",
    "SmsNotification",
    "SmsStatus",
    "StatusFeedEntry",
]


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
    """What kind of shipment an order is (the reference's OrderType; composed emails are not offered)."""

    NOTIFICATION = "Notification"  # a v1 order, or the main notification of an order chain
    REMINDER = "Reminder"  # a reminder of an order chain: an order of its own, sent later
    INSTANT = "Instant"  # one message sent synchronously by POST /future/orders/instant/*


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


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class OrderChain(models.Model):
    """One request to ``POST /future/orders`` or ``/future/orders/instant/*``: its orders and its receipt.

    The id is the receipt's ``notificationOrderId``. The unique constraint on (creator, idempotencyId,
    type) is what makes a repeated request safe, for as long as the chain exists (the reference's
    ``orderschain`` index); chains and instant orders are separate namespaces, as there.
    """

    class Type(models.TextChoices):
        NOTIFICATION = "Notification"
        INSTANT = "Instant"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    creator = models.CharField(max_length=100)
    idempotency_id = models.CharField(max_length=255)
    type = models.CharField(max_length=16, choices=Type.choices)
    # The request as the client sent it (the reference keeps it too), for support and audits.
    request = models.JSONField()
    # The 201 body, returned again (as 200) for a repeat. Null while an instant order's send is under way.
    receipt = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["creator", "idempotency_id", "type"], name="order_chain_idempotency_unique"
            )
        ]

    def __str__(self) -> str:
        return str(self.id)


class Order(TimestampedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    creator = models.CharField(max_length=100)
    type = models.CharField(max_length=16, choices=OrderType.choices, default=OrderType.NOTIFICATION)
    # The order chain this order is the main notification, a reminder or the instant order of.
    chain = models.ForeignKey(
        OrderChain, null=True, blank=True, on_delete=models.CASCADE, related_name="orders"
    )
    senders_reference = models.CharField(max_length=500, null=True, blank=True)
    requested_send_time = models.DateTimeField()
    notification_channel = models.CharField(max_length=16, choices=NotificationChannel.choices)
    sending_time_policy = models.CharField(
        max_length=8, choices=SendingTimePolicy.choices, default=SendingTimePolicy.ANYTIME
    )
    ignore_reservation = models.BooleanField(null=True, blank=True)
    resource_id = models.CharField(max_length=500, null=True, blank=True)
    resource_action = models.CharField(max_length=200, null=True, blank=True)
    condition_endpoint = models.URLField(max_length=2000, null=True, blank=True)
    # Where final notification statuses and the order's completion are POSTed, signed (dispatch.callbacks).
    status_callback_url = models.URLField(max_length=2000, null=True, blank=True)
    email_template = models.OneToOneField(
        EmailTemplate, null=True, blank=True, on_delete=models.PROTECT, related_name="order"
    )
    sms_template = models.OneToOneField(
        SmsTemplate, null=True, blank=True, on_delete=models.PROTECT, related_name="order"
    )
    status = models.CharField(max_length=24, choices=OrderStatus.choices, default=OrderStatus.REGISTERED)
    # When the status last changed (the API's processingStatus.lastUpdate).
    status_changed_at = models.DateTimeField(auto_now_add=True)
    # The 202 receipt's recipientLookup, kept so a replay or an audit sees what the client saw.
    recipient_lookup = models.JSONField(null=True, blank=True)
    # Processing retries (condition endpoint or registry outage): not before this time. While the order is
    # Processing it is also the claim's lease: a worker that died is replaced once it has passed.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Incremented by every claim; the claimer's number fences its writes against a later claimer.
    processing_attempts = models.PositiveIntegerField(default=0)
    # Failed condition endpoint checks so far (after NOTIFICATIONS_CONDITION_MAX_CHECKS the order is sent).
    condition_checks_failed = models.PositiveSmallIntegerField(default=0)
    processing_note = models.TextField(blank=True, default="")

    class Meta:
        indexes = [
            # The due-order sweep: Registered orders by send time.
            models.Index(
                fields=["requested_send_time"],
                name="order_registered_due",
                condition=Q(status="Registered"),
            ),
            # GET /orders?sendersReference=X (always scoped to the creator), and the admin's search by
            # sender's reference across creators: the reference leads so one index serves both.
            models.Index(fields=["senders_reference", "creator"], name="order_reference_creator"),
            # Admin: newest orders first, filtered by creator.
            models.Index(fields=["creator", "-created_at"], name="order_creator_created"),
            # Admin: newest orders first (the order list's default ordering, one index range scan).
            models.Index(fields=["-created_at"], name="order_created"),
            # The due-order sweep: Processing orders whose retry time or claim lease has passed.
            models.Index(
                fields=["next_attempt_at"],
                name="order_processing_retry",
                condition=Q(status="Processing"),
            ),
            # The completion sweep: orders still waiting for final notification statuses.
            models.Index(
                fields=["status_changed_at"], name="order_processed", condition=Q(status="Processed")
            ),
        ]
        permissions = [("cancel_order", "Can cancel registered orders")]

    def __str__(self) -> str:
        return str(self.id)


class StatusFeedEntry(models.Model):
    """An order that reached a final status, as ``GET /future/shipment/feed`` reports it.

    Written once per order (the unique order), in the transaction that makes the order final; the id is
    the feed's ``sequenceNumber``. Recipients are a snapshot of the notifications at that moment, with
    their stored statuses (mapped to the lifecycle names when read).
    """

    id = models.BigAutoField(primary_key=True)
    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="feed_entry")
    creator = models.CharField(max_length=100)
    order_status = models.CharField(max_length=24, choices=OrderStatus.choices)
    # When the order reached that status (the entry's lastUpdate).
    last_update = models.DateTimeField()
    # [{"channel": "Email"|"Sms", "destination": ..., "status": ..., "lastUpdate": ...}, ...]
    recipients = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            # The feed: one creator's entries by sequence number, either direction.
            models.Index(fields=["creator", "id"], name="status_feed_creator_seq"),
            # The purge of entries past their retention.
            models.Index(fields=["created_at"], name="status_feed_created"),
        ]

    def __str__(self) -> str:
        return f"{self.id}: {self.order_id} {self.order_status}"


class Recipient(models.Model):
    """A recipient as the client registered it (looked-up addresses live on the notifications)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="recipients")
    position = models.PositiveIntegerField()
    email_address = models.CharField(max_length=320, null=True, blank=True)
    mobile_number = models.CharField(max_length=32, null=True, blank=True)
    organization_number = models.CharField(max_length=9, null=True, blank=True)
    national_identity_number = models.CharField(max_length=11, null=True, blank=True)
    # Reservation found at registration (persons only); null when no lookup was made.
    is_reserved = models.BooleanField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "position"], name="recipient_order_position_unique")
        ]
        permissions = [("view_full_nin", "Can see national identity numbers in full")]
        indexes = [
            # Admin search of orders by a recipient's identifiers.
            models.Index(fields=["national_identity_number"], name="recipient_nin"),
            models.Index(fields=["organization_number"], name="recipient_orgno"),
        ]

    def __str__(self) -> str:
        return f"recipient {self.position} of {self.order_id}"


class NotificationBase(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Which recipient of the order this notification was generated for (duplicate guard, reporting).
    recipient_position = models.PositiveIntegerField()
    recipient_organization_number = models.CharField(max_length=9, null=True, blank=True)
    recipient_national_identity_number = models.CharField(max_length=11, null=True, blank=True)
    recipient_name = models.CharField(max_length=200, null=True, blank=True)
    status_changed_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    # Sending bookkeeping.
    not_before = models.DateTimeField(null=True, blank=True)  # backoff after a transient failure
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The send claim holding the row while it is Sending. Its id fences the claimer's writes (once the
    # claim is taken over they match nothing); the sending worker renews the lease while it works, so
    # a lease in the past means the worker is gone and the stuck-send sweep may take the row back.
    claim_id = models.UUIDField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    provider = models.CharField(max_length=50, blank=True, default="")
    # The provider's id for the message; the notification id is sent as our reference too.
    provider_reference = models.CharField(max_length=200, null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        abstract = True


class EmailNotification(NotificationBase):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="email_notifications")
    to_address = models.CharField(max_length=320, blank=True, default="")
    status = models.CharField(max_length=40, choices=EmailStatus.choices, default=EmailStatus.NEW)
    # Keyword-substituted texts; null when the template text is sent as registered.
    subject = models.TextField(null=True, blank=True)
    body = models.TextField(null=True, blank=True)

    class Meta:
        constraints = [
            # One notification per address per recipient: a re-run of an order cannot duplicate sends.
            models.UniqueConstraint(
                fields=["order", "recipient_position", "to_address"], name="email_notification_unique"
            ),
            # The reference leads so the same index serves the admin's search by provider reference.
            models.UniqueConstraint(
                fields=["provider_reference", "provider"],
                name="email_provider_reference_unique",
                condition=Q(provider_reference__isnull=False),
            ),
        ]
        indexes = [
            # The send claim: New rows by creation time.
            models.Index(fields=["created_at"], name="email_new", condition=Q(status="New")),
            # The stuck-send sweep.
            models.Index(fields=["claimed_at"], name="email_sending", condition=Q(status="Sending")),
            # Lease renewal (one claim's rows) and the sweep of expired leases; small, like the one above.
            models.Index(
                fields=["claim_id", "lease_until"], name="email_sending_claim", condition=Q(status="Sending")
            ),
            # The expiry sweep over rows that are not final yet.
            models.Index(
                fields=["expires_at"],
                name="email_pending_expiry",
                condition=Q(status__in=["New", "Sending", "Succeeded"]),
            ),
            # Per-order reads and status counts.
            models.Index(fields=["order", "status"], name="email_order_status"),
            # Admin search by recipient, case-insensitive
            # (to_address__iexact is UPPER(to_address) = UPPER(%s)).
            models.Index(Upper("to_address"), name="email_to_address_upper"),
            models.Index(
                fields=["recipient_national_identity_number"],
                name="email_recipient_nin",
                condition=Q(recipient_national_identity_number__isnull=False),
            ),
            models.Index(
                fields=["recipient_organization_number"],
                name="email_recipient_orgno",
                condition=Q(recipient_organization_number__isnull=False),
            ),
            # Admin list (newest first) and the dashboard's counts per status over a time range:
            # status is included so those counts are index-only scans.
            models.Index(fields=["created_at"], name="email_created", include=["status"]),
            # Admin: failed notifications newest first ("has failed" and any one Failed_* status);
            # small, because failures are rare, and it spares a scan past millions of delivered rows.
            models.Index(
                fields=["created_at"],
                name="email_failed",
                condition=Q(status__in=sorted(EMAIL_FAILED_STATUSES)),
            ),
        ]
        permissions = [("retry_emailnotification", "Can retry failed email notifications")]

    def __str__(self) -> str:
        return str(self.id)


class SmsNotification(NotificationBase):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="sms_notifications")
    mobile_number = models.CharField(max_length=32, blank=True, default="")
    status = models.CharField(max_length=40, choices=SmsStatus.choices, default=SmsStatus.NEW)
    body = models.TextField(null=True, blank=True)
    sending_time_policy = models.CharField(
        max_length=8, choices=SendingTimePolicy.choices, default=SendingTimePolicy.ANYTIME
    )
    parts = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["order", "recipient_position", "mobile_number"], name="sms_notification_unique"
            ),
            # The reference leads so the same index serves the admin's search by provider reference.
            models.UniqueConstraint(
                fields=["provider_reference", "provider"],
                name="sms_provider_reference_unique",
                condition=Q(provider_reference__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["created_at"], name="sms_new", condition=Q(status="New")),
            models.Index(fields=["claimed_at"], name="sms_sending", condition=Q(status="Sending")),
            models.Index(
                fields=["claim_id", "lease_until"], name="sms_sending_claim", condition=Q(status="Sending")
            ),
            models.Index(
                fields=["expires_at"],
                name="sms_pending_expiry",
                condition=Q(status__in=["New", "Sending", "Accepted"]),
            ),
            models.Index(fields=["order", "status"], name="sms_order_status"),
            models.Index(fields=["mobile_number"], name="sms_mobile_number"),
            models.Index(
                fields=["recipient_national_identity_number"],
                name="sms_recipient_nin",
                condition=Q(recipient_national_identity_number__isnull=False),
            ),
            models.Index(
                fields=["recipient_organization_number"],
                name="sms_recipient_orgno",
                condition=Q(recipient_organization_number__isnull=False),
            ),
            models.Index(fields=["created_at"], name="sms_created", include=["status"]),
            models.Index(
                fields=["created_at"], name="sms_failed", condition=Q(status__in=sorted(SMS_FAILED_STATUSES))
            ),
        ]
        permissions = [("retry_smsnotification", "Can retry failed SMS notifications")]

    def __str__(self) -> str:
        return str(self.id)


class IdempotencyKey(models.Model):
    """A client's Idempotency-Key for an order-creating POST, kept at least 24 hours.

    The unique constraint is what makes a retried POST safe: two requests with one key cannot both
    create an order. ``token`` identifies the request holding an in-flight key, so a takeover of an
    abandoned key can be detected by the request that abandoned it.
    """

    class State(models.TextChoices):
        IN_FLIGHT = "in_flight"
        DONE = "done"

    creator = models.CharField(max_length=100)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    token = models.UUIDField(default=uuid.uuid4)
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_FLIGHT)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField()
    claimed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["creator", "key"], name="idempotency_creator_key_unique")
        ]
        indexes = [
            # The purge of keys past their retention.
            models.Index(fields=["created_at"], name="idempotency_created"),
        ]

    def __str__(self) -> str:
        return f"{self.creator}:{self.key}"
