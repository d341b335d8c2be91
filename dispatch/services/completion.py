"""Order completion: a Processed order becomes Completed once none of its notifications can change.

Pending means email ``New``/``Sending``/``Succeeded`` or SMS ``New``/``Sending``/``Accepted``; everything
else is final. Only ``Processed`` orders are considered: notifications are generated in the same
transaction that moves an order out of ``Processing``, so a ``Processing`` order has none yet and must not
look "done". Call the check after the transaction that recorded a final status has committed; the sweep
catches any check that ran too early (two last notifications finishing in concurrent transactions).

The order's status feed entry and its status callback (``dispatch.services.callback_outbox``) are written
in the transaction that completes it.
"""

from __future__ import annotations

import logging
import uuid

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from dispatch.services.callback_outbox import callbacks_record_orders
from orders.feed import status_feed_record
from orders.models import (
    EMAIL_PENDING_STATUSES,
    SMS_PENDING_STATUSES,
    EmailNotification,
    Order,
    OrderStatus,
    SmsNotification,
)

logger = logging.getLogger(__name__)


def _done_orders() -> QuerySet[Order]:
    """Processed orders without a pending notification (each probe uses the (order, status) indexes)."""
    pending_email = EmailNotification.objects.filter(
        order_id=OuterRef("pk"), status__in=EMAIL_PENDING_STATUSES
    )
    pending_sms = SmsNotification.objects.filter(order_id=OuterRef("pk"), status__in=SMS_PENDING_STATUSES)
    return (
        Order.objects.filter(status=OrderStatus.PROCESSED)
        .exclude(Exists(pending_email))
        .exclude(Exists(pending_sms))
    )


def order_complete_if_done(*, order_id: uuid.UUID) -> bool:
    """Move the order to Completed if it is Processed and all its notifications are final.

    Returns True when this call completed it; False when it is not done yet, not Processed, or another
    caller completed it first (the update is conditional, so a duplicate call changes nothing).
    """
    now = timezone.now()
    with transaction.atomic():
        completed = (
            _done_orders()
            .filter(id=order_id)
            .update(status=OrderStatus.COMPLETED, status_changed_at=now, updated_at=now)
        )
        if completed:
            status_feed_record(order_ids=[order_id])
            callbacks_record_orders(order_ids=[order_id])
    if completed:
        logger.info("order completed", extra={"order_id": str(order_id)})
    return completed == 1


def orders_complete(*, batch_size: int = 500) -> int:
    """Complete every Processed order whose notifications are all final; returns how many were completed."""
    total = 0
    while True:
        now = timezone.now()
        batch = list(_done_orders().order_by("status_changed_at").values_list("id", flat=True)[:batch_size])
        if not batch:
            break
        # The done-test is repeated in the UPDATE: a row may have changed since it was read.
        with transaction.atomic():
            completed = (
                _done_orders()
                .filter(id__in=batch)
                .update(status=OrderStatus.COMPLETED, status_changed_at=now, updated_at=now)
            )
            if completed:
                # Orders of the batch someone else completed meanwhile already have their entry.
                status_feed_record(order_ids=batch)
                callbacks_record_orders(order_ids=batch)
        total += completed
        if len(batch) < batch_size:
            break
    if total:
        logger.info("completed %d order(s)", total)
    return total
