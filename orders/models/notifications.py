"""The email and SMS notifications generated from an order, one per recipient address.

Status changes are conditional UPDATEs in services, never ``save()``.
"""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper

from orders.models.orders import Order
from orders.models.statuses import (
    EMAIL_FAILED_STATUSES,
    SMS_FAILED_STATUSES,
    EmailStatus,
    SendingTimePolicy,
    SmsStatus,
)


class NotificationBase(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Which recipient of the order this notification was generated for (duplicate guard, reporting).
    recipient_position = models.PositiveIntegerField()
    recipient_organization_number = models.CharField(max_length=9, null=True, blank=True)
    recipient_national_identity_number = models.CharField(max_length=11, null=True, blank=True)
    recipient_name = models.CharField(max_length=200, null=True, blank=True)
    # Every recipient position this notification serves when the same address was reached through more
    # than one recipient of the order (deduplication, docs/pipeline.md); null when it serves only
    # recipient_position.
    served_positions = ArrayField(models.PositiveIntegerField(), null=True, blank=True)
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
