"""Retry: send a failed or expired notification again (the admin's retry actions call these).

A retried notification goes back to ``New`` with a fresh expiry (counted from now, by the same rules as at
generation), a fresh attempt budget and no provider reference, so the send claim picks it up like a new
one and a late report for the old send cannot land on it. Its earlier DeliveryAttempt and DeliveryReport
rows are kept. A Completed order goes back to Processed, so it completes again once the retry is final.

Refused, with the reason, for a notification that is not failed, of a cancelled order, or that failed
for good at generation: a reserved recipient must not be contacted, and a recipient without an address
or with an invalid one has nothing to send to. Every retry and every refusal is written to the audit log.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from celery import current_app
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from core.problems import ConflictError
from dispatch.models import Channel
from dispatch.services.expiry import email_expires_at, sms_expires_at
from dispatch.services.retention import PURGED_ADDRESS_REGEX, is_purged_address
from orders.audit import AuditAction, AuditEntry, AuditOutcome, audit_record
from orders.models import (
    EMAIL_FAILED_STATUSES,
    SMS_FAILED_STATUSES,
    EmailNotification,
    EmailStatus,
    Order,
    OrderStatus,
    SmsNotification,
    SmsStatus,
)

logger = logging.getLogger(__name__)

SEND_TASK = "dispatch.notifications_send"
# Rows per transaction when all failed notifications of a large order are retried.
ORDER_RETRY_CHUNK = 1000

# Failed at generation, never sent: retrying cannot help and, for a reservation, must not happen.
NEVER_RETRIED_EMAIL = frozenset(
    {
        EmailStatus.FAILED_RECIPIENT_RESERVED,
        EmailStatus.FAILED_RECIPIENT_NOT_IDENTIFIED,
        EmailStatus.FAILED_INVALID_EMAIL_FORMAT,
    }
)
NEVER_RETRIED_SMS = frozenset(
    {SmsStatus.FAILED_RECIPIENT_RESERVED, SmsStatus.FAILED_RECIPIENT_NOT_IDENTIFIED}
)
RETRYABLE_EMAIL_STATUSES = EMAIL_FAILED_STATUSES - NEVER_RETRIED_EMAIL
RETRYABLE_SMS_STATUSES = SMS_FAILED_STATUSES - NEVER_RETRIED_SMS

Notification = EmailNotification | SmsNotification
Actor = AbstractBaseUser | AnonymousUser | None


class RetryRefused(ConflictError):
    title = "The notification cannot be retried."


@dataclass
class RetrySummary:
    retried: int = 0
    refused: dict[str, list[str]] = field(default_factory=dict)  # reason -> notification ids

    def refuse(self, reason: str, notification_id: uuid.UUID) -> None:
        self.refused.setdefault(reason, []).append(str(notification_id))

    @property
    def refused_count(self) -> int:
        return sum(len(ids) for ids in self.refused.values())


def retryable_statuses(model: type[EmailNotification] | type[SmsNotification]) -> frozenset[str]:
    return RETRYABLE_EMAIL_STATUSES if model is EmailNotification else RETRYABLE_SMS_STATUSES


def _refusal(
    status: str, order_status: str, model: type[EmailNotification] | type[SmsNotification], address: str = ""
) -> str:
    """Why a notification in ``status`` of an order in ``order_status`` cannot be retried, or ""."""
    if order_status == OrderStatus.CANCELLED:
        return "its order is cancelled"
    if is_purged_address(address):
        return "its content was purged (retention): there is no address to send to"
    if status in retryable_statuses(model):
        return ""
    if status == "Failed_RecipientReserved":
        return "the recipient is reserved against digital contact"
    if status.startswith("Failed"):
        return f"it failed for good at generation ({status}): there is no address to send to"
    return f"it has not failed (status {status})"


def _fresh_values(notification: Notification, now: datetime) -> dict[str, Any]:
    """The columns a retry resets: status, expiry, attempt budget, provider bookkeeping."""
    if isinstance(notification, EmailNotification):
        expires_at = email_expires_at(now)
    else:
        expires_at = sms_expires_at(now, notification.sending_time_policy)
    return {
        "status": "New",
        "status_changed_at": now,
        "expires_at": expires_at,
        "attempts": 0,
        "not_before": None,
        "claimed_at": None,
        "provider_reference": None,
        "last_error": "",
    }


def _reopen_order(order_id: uuid.UUID, now: datetime) -> None:
    # Completed means "nothing can change any more"; a retried notification can, so the order waits
    # for the completion check again.
    Order.objects.filter(id=order_id, status=OrderStatus.COMPLETED).update(
        status=OrderStatus.PROCESSED, status_changed_at=now, updated_at=now
    )


def _enqueue_send(channel: str) -> None:
    """Ask a worker to send now; if the broker is down, the send sweep finds the rows by status."""
    try:
        current_app.send_task(SEND_TASK, kwargs={"channel": channel})
    except Exception:
        logger.warning("could not enqueue %s; the send sweep will pick the retry up", SEND_TASK)


def _address_field(model: type[EmailNotification] | type[SmsNotification]) -> str:
    return "to_address" if model is EmailNotification else "mobile_number"


def _channel(model: type[EmailNotification] | type[SmsNotification]) -> str:
    return Channel.EMAIL if model is EmailNotification else Channel.SMS


def _retry_one(notification: Notification, actor: Actor) -> str:
    """Retry one notification; returns "" when done, otherwise why it was refused (both audited)."""
    model = type(notification)
    order_status = Order.objects.values_list("status", flat=True).get(id=notification.order_id)
    address = (
        notification.to_address if isinstance(notification, EmailNotification) else notification.mobile_number
    )
    reason = _refusal(notification.status, order_status, model, address)
    now = timezone.now()
    if not reason:
        with transaction.atomic():
            # Conditional on the status we judged: a concurrent retry or report cannot be overwritten.
            updated = model.objects.filter(id=notification.id, status=notification.status).update(
                **_fresh_values(notification, now)
            )
            if updated:
                _reopen_order(notification.order_id, now)
                audit_record(
                    actor=actor,
                    action=AuditAction.NOTIFICATION_RETRY,
                    outcome=AuditOutcome.DONE,
                    target=notification,
                    details={"from_status": notification.status, "order_id": str(notification.order_id)},
                )
                transaction.on_commit(partial(_enqueue_send, _channel(model)))
        if updated:
            logger.info(
                "notification %s retried", notification.id, extra={"notification_id": str(notification.id)}
            )
            return ""
        reason = "its status changed meanwhile"
    # Outside the transaction above, so the refusal is recorded even though nothing else changes.
    audit_record(
        actor=actor,
        action=AuditAction.NOTIFICATION_RETRY,
        outcome=AuditOutcome.REFUSED,
        target=notification,
        details={"status": notification.status, "order_id": str(notification.order_id), "reason": reason},
    )
    return reason


def notification_retry(*, notification: Notification, actor: Actor) -> Notification:
    """Put one failed or expired notification back to New for sending; raises RetryRefused with why not."""
    reason = _retry_one(notification, actor)
    if reason:
        raise RetryRefused(f"Notification {notification.id} was not retried: {reason}.")
    notification.refresh_from_db()
    return notification


def notifications_retry(*, notifications: Iterable[Notification], actor: Actor) -> RetrySummary:
    """Retry each notification of a selection; refusals are counted by reason instead of raised."""
    summary = RetrySummary()
    for notification in notifications:
        reason = _retry_one(notification, actor)
        if reason:
            summary.refuse(reason, notification.id)
        else:
            summary.retried += 1
    return summary


def order_notifications_retry(*, order: Order, actor: Actor) -> RetrySummary:
    """Retry every retryable failed notification of an order, in chunks of bulk UPDATEs.

    1. Refused as a whole (and audited once) when the order is cancelled.
    2. Per channel and chunk, in one transaction: lock the failed rows (SKIP LOCKED: a row being changed
       by a report right now is left alone), reset them, write one audit entry per notification.
    3. After commit, ask a worker to send.
    """
    summary = RetrySummary()
    if order.status == OrderStatus.CANCELLED:
        audit_record(
            actor=actor,
            action=AuditAction.NOTIFICATION_RETRY,
            outcome=AuditOutcome.REFUSED,
            target=order,
            details={"reason": "the order is cancelled"},
        )
        raise RetryRefused(f"The notifications of order {order.id} were not retried: the order is cancelled.")
    user = actor if isinstance(actor, AbstractBaseUser) else None
    username = user.get_username() if user is not None else "system"
    models: tuple[type[EmailNotification] | type[SmsNotification], ...] = (EmailNotification, SmsNotification)
    for model in models:
        statuses = sorted(retryable_statuses(model))
        while True:
            now = timezone.now()
            with transaction.atomic():
                rows: list[Notification] = list(
                    model.objects.select_for_update(skip_locked=True)
                    .filter(order_id=order.id, status__in=statuses)
                    .exclude(**{f"{_address_field(model)}__regex": PURGED_ADDRESS_REGEX})
                    .order_by("created_at", "id")[:ORDER_RETRY_CHUNK]
                )
                if not rows:
                    break
                by_expiry: dict[datetime, list[uuid.UUID]] = {}
                for row in rows:
                    by_expiry.setdefault(_fresh_values(row, now)["expires_at"], []).append(row.id)
                for expires_at, ids in by_expiry.items():
                    values = _fresh_values(rows[0], now) | {"expires_at": expires_at}
                    model.objects.filter(id__in=ids).update(**values)
                _reopen_order(order.id, now)
                AuditEntry.objects.bulk_create(
                    AuditEntry(
                        actor_id=user.pk if user is not None else None,
                        actor_username=username,
                        action=AuditAction.NOTIFICATION_RETRY,
                        outcome=AuditOutcome.DONE,
                        target_type=model._meta.label_lower,
                        target_id=str(row.id),
                        details={"from_status": row.status, "order_id": str(order.id), "via": "order"},
                    )
                    for row in rows
                )
                transaction.on_commit(partial(_enqueue_send, _channel(model)))
            summary.retried += len(rows)
            if len(rows) < ORDER_RETRY_CHUNK:
                break
    if summary.retried:
        logger.info(
            "retried %d notification(s) of order %s",
            summary.retried,
            order.id,
            extra={"order_id": str(order.id)},
        )
    return summary
