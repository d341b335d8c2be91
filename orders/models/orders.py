"""Orders, the order chains they belong to, and their recipients as registered."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from orders.models.statuses import NotificationChannel, OrderStatus, OrderType, SendingTimePolicy
from templates.models import EmailTemplate, SmsTemplate


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class OrderChain(models.Model):
    """One request to ``POST /future/orders``, ``/future/orders/instant/*`` or
    ``/future/orders/composed-email``: its orders and its receipt.

    The id is the receipt's ``notificationOrderId``. The unique constraint on (creator, idempotencyId,
    type) is what makes a repeated request safe, for as long as the chain exists (the reference's
    ``orderschain`` index); chains and instant orders are separate namespaces, as there.
    """

    class Type(models.TextChoices):
        NOTIFICATION = "Notification"
        INSTANT = "Instant"
        COMPOSED = "Composed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    creator = models.CharField(max_length=100)
    idempotency_id = models.CharField(max_length=255)
    type = models.CharField(max_length=16, choices=Type.choices)
    # The request as the client sent it (the reference keeps it too), for support and audits.
    request = models.JSONField()
    # The 201 body, returned again (as 200) for a repeat. Null while an instant order's send is under way.
    receipt = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField()
    # The request's dialogportenAssociation: the Dialogporten dialog and transmission the chain belongs to,
    # returned with the chain and its shipments.
    dialog_id = models.CharField(max_length=200, null=True, blank=True)
    transmission_id = models.CharField(max_length=200, null=True, blank=True)

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


class Recipient(models.Model):
    """A recipient as the client registered it (looked-up addresses live on the notifications)."""

    # No index of its own: the order leads recipient_order_position_unique. No foreign key constraint in
    # the database either (orders/migrations/0009): PostgreSQL checked it once per row at commit, as much
    # CPU as the COPY of a 100,000-recipient order itself, while every recipient is written in the
    # transaction that writes its order, and an order is only deleted through the ORM, whose CASCADE
    # deletes its recipients first.
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="recipients", db_index=False, db_constraint=False
    )
    position = models.PositiveIntegerField()
    email_address = models.CharField(max_length=320, null=True, blank=True)
    mobile_number = models.CharField(max_length=32, null=True, blank=True)
    organization_number = models.CharField(max_length=9, null=True, blank=True)
    national_identity_number = models.CharField(max_length=11, null=True, blank=True)
    # A person by external identity (a URN, orders.registry.urns); future API only.
    external_identity = models.CharField(max_length=400, null=True, blank=True)
    # Reservation found at registration (persons only); null when no lookup was made.
    is_reserved = models.BooleanField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "position"], name="recipient_order_position_unique")
        ]
        permissions = [("view_full_nin", "Can see national identity numbers in full")]
        indexes = [
            # Admin search of orders by a recipient's identifiers (equality, which implies not null). Partial:
            # a recipient given by an address has neither, and writes no entry.
            models.Index(
                fields=["national_identity_number"],
                name="recipient_nin_given",
                condition=Q(national_identity_number__isnull=False),
            ),
            models.Index(
                fields=["organization_number"],
                name="recipient_orgno_given",
                condition=Q(organization_number__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"recipient {self.position} of {self.order_id}"
