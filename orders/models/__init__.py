"""Orders, their recipients and the email and SMS notifications generated from them, one module per entity.

Statuses are stored as their wire names (``Failed_RecipientReserved``), so the database, the API and
the admin speak one vocabulary. Status changes are conditional UPDATEs in services, never ``save()``.
The contact registry's models and the audit log are imported here so Django registers them with the app.
"""

from __future__ import annotations

from orders.audit import AuditEntry
from orders.models.feed import StatusFeedEntry
from orders.models.idempotency import IdempotencyKey
from orders.models.notifications import EmailNotification, NotificationBase, SmsNotification
from orders.models.orders import Order, OrderChain, Recipient, TimestampedModel
from orders.models.statuses import (
    EMAIL_FAILED_STATUSES,
    EMAIL_PENDING_STATUSES,
    EMAIL_SUCCESS_STATUSES,
    ORDER_FINAL_STATUSES,
    SMS_FAILED_STATUSES,
    SMS_PENDING_STATUSES,
    SMS_SUCCESS_STATUSES,
    EmailStatus,
    NotificationChannel,
    OrderStatus,
    OrderType,
    SendingTimePolicy,
    SmsStatus,
)
from orders.registry.models import Organization, OrganizationContact, Person, SelfIdentifiedUser

__all__ = [
    "EMAIL_FAILED_STATUSES",
    "EMAIL_PENDING_STATUSES",
    "EMAIL_SUCCESS_STATUSES",
    "ORDER_FINAL_STATUSES",
    "SMS_FAILED_STATUSES",
    "SMS_PENDING_STATUSES",
    "SMS_SUCCESS_STATUSES",
    "AuditEntry",
    "EmailNotification",
    "EmailStatus",
    "IdempotencyKey",
    "NotificationBase",
    "NotificationChannel",
    "Order",
    "OrderChain",
    "OrderStatus",
    "OrderType",
    "Organization",
    "OrganizationContact",
    "Person",
    "Recipient",
    "SelfIdentifiedUser",
    "SendingTimePolicy",
    "SmsNotification",
    "SmsStatus",
    "StatusFeedEntry",
    "TimestampedModel",
]
