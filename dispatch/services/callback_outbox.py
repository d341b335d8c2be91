"""Status callbacks: writing the outbox, and re-sending from the admin.

1. Record: the code that makes a notification or an order final calls :func:`callbacks_record_notifications`
   or :func:`callbacks_record_orders` inside the same transaction. For orders with a ``statusCallbackUrl``
   they insert one :class:`CallbackDelivery` per event (the payload is the snapshot of that moment); the
   unique event key makes a second call for the same transition a no-op.
2. Deliver: ``dispatch.callbacks_deliver`` runs after commit and every sweep
   (``dispatch.services.callback_posting``; secrets in ``dispatch.services.callback_secrets``).
3. Retry: anything but a 2xx is tried again with exponential backoff and jitter until
   ``NOTIFICATIONS_CALLBACK_MAX_AGE_SECONDS`` after the event; then, or at once for an address the guard
   refuses, the row is ``failed``. Staff can re-send any row from the admin (audited).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from dispatch.callback_format import notification_payload, order_payload
from dispatch.models import CallbackAttempt, CallbackDelivery, CallbackEvent, CallbackState, Channel
from orders.audit import AuditAction, AuditOutcome, audit_record
from orders.models import (
    EMAIL_PENDING_STATUSES,
    SMS_PENDING_STATUSES,
    EmailNotification,
    Order,
    OrderStatus,
    SmsNotification,
)

logger = logging.getLogger(__name__)

DELIVER_TASK = "dispatch.callbacks_deliver"
# Order statuses announced by an order.status event (a cancelled order was cancelled by its client).
ORDER_EVENT_STATUSES = frozenset({OrderStatus.COMPLETED, OrderStatus.SEND_CONDITION_NOT_MET})
# A process asks for a delivery run at most this often; the sweep covers anything in between.
KICK_INTERVAL_SECONDS = 1.0
_last_kick = 0.0


# --- record (inside the caller's transaction) ---------------------------------------------------------


def _key(kind: str, object_id: object, status: str, changed: datetime) -> str:
    return f"{kind}:{object_id}:{status}:{changed.timestamp():.6f}"


def _delivery(
    *, key: str, event_type: str, creator: str, url: str, now: datetime, **fields: Any
) -> CallbackDelivery:
    event_id = uuid.uuid4()
    return CallbackDelivery(
        event_id=event_id,
        event_key=key,
        event_type=event_type,
        creator=creator,
        url=url,
        created_at=now,
        next_attempt_at=now,
        give_up_at=now + timedelta(seconds=settings.NOTIFICATIONS_CALLBACK_MAX_AGE_SECONDS),
        **fields,
    )


def _notification_rows(channel: str, *, stream: bool = False, **filters: Any) -> Iterable[dict[str, Any]]:
    """The final notifications matching ``filters`` whose order has a callback URL; ``stream`` reads them
    through a server-side cursor (a whole order's, at generation), else in one fetch (a chunk's)."""
    model: Any = EmailNotification if channel == Channel.EMAIL else SmsNotification
    pending = EMAIL_PENDING_STATUSES if channel == Channel.EMAIL else SMS_PENDING_STATUSES
    address = "to_address" if channel == Channel.EMAIL else "mobile_number"
    rows = (
        model.objects.filter(order__status_callback_url__gt="", **filters)
        .exclude(status__in=pending)
        .values(
            "id",
            "order_id",
            "status",
            "status_changed_at",
            "recipient_organization_number",
            "recipient_national_identity_number",
            "order__creator",
            "order__status_callback_url",
            "order__senders_reference",
            address=F(address),
        )
    )
    return rows.iterator(chunk_size=2000) if stream else list(rows)


def _notification_deliveries(
    channel: str, rows: Iterable[dict[str, Any]], now: datetime
) -> Iterable[CallbackDelivery]:
    for row in rows:
        delivery = _delivery(
            key=_key("n", row["id"], row["status"], row["status_changed_at"]),
            event_type=CallbackEvent.NOTIFICATION_STATUS,
            creator=row["order__creator"],
            url=row["order__status_callback_url"],
            now=now,
            order_id=row["order_id"],
            notification_id=row["id"],
            channel=channel,
            status=row["status"],
            payload={},
        )
        delivery.payload = notification_payload(
            event_id=str(delivery.event_id),
            channel=channel,
            row=row,
            senders_reference=row["order__senders_reference"],
        )
        yield delivery


def _insert(deliveries: Iterable[CallbackDelivery]) -> int:
    batch = list(deliveries)
    if not batch:
        return 0
    # A second call for the same transition (an overlapping sweep, a re-run) hits the event key: no-op.
    CallbackDelivery.objects.bulk_create(batch, ignore_conflicts=True, batch_size=1000)
    transaction.on_commit(_kick)
    return len(batch)


def callbacks_record_notifications(*, channel: str, ids: Iterable[uuid.UUID]) -> int:
    """Outbox rows for notifications that just got a final status, if their order has a callback URL.

    Call it inside the transaction that recorded the statuses; rows still pending are skipped. Returns the
    number of events offered (duplicates of recorded events are dropped by the database).
    """
    id_list = list(ids)
    if not id_list:
        return 0
    now = timezone.now()
    rows = _notification_rows(channel, id__in=id_list)
    return _insert(_notification_deliveries(channel, rows, now))


def callbacks_record_orders(*, order_ids: Iterable[uuid.UUID], notifications: bool = False) -> int:
    """Outbox rows for orders that just became final (Completed, SendConditionNotMet).

    With ``notifications``, also for every final notification of those orders: the ones born final at
    generation (reserved, no address), recorded in the transaction that inserted them.
    """
    id_list = list(order_ids)
    if not id_list:
        return 0
    now = timezone.now()
    orders = list(
        Order.objects.filter(id__in=id_list, status_callback_url__gt="").values(
            "id", "creator", "status_callback_url", "senders_reference", "status", "status_changed_at"
        )
    )
    if not orders:
        return 0
    deliveries: list[CallbackDelivery] = []
    with_url = [order["id"] for order in orders]
    if notifications:
        for channel in (Channel.EMAIL, Channel.SMS):
            rows = _notification_rows(channel, stream=True, order_id__in=with_url)
            deliveries.extend(_notification_deliveries(channel, rows, now))
    for order in orders:
        if order["status"] not in ORDER_EVENT_STATUSES:
            continue
        delivery = _delivery(
            key=_key("o", order["id"], order["status"], order["status_changed_at"]),
            event_type=CallbackEvent.ORDER_STATUS,
            creator=order["creator"],
            url=str(order["status_callback_url"]),
            now=now,
            order_id=order["id"],
            status=order["status"],
            payload={},
        )
        delivery.payload = order_payload(event_id=str(delivery.event_id), row=order)
        deliveries.append(delivery)
    return _insert(deliveries)


def _kick() -> None:
    """Ask a worker to deliver now (at most once a second per process); the sweep is the safety net."""
    global _last_kick
    if time.monotonic() - _last_kick < KICK_INTERVAL_SECONDS:
        return
    _last_kick = time.monotonic()
    try:
        current_app.send_task(DELIVER_TASK, expires=60)
    except Exception:
        logger.warning("could not enqueue %s; the callback sweep will deliver", DELIVER_TASK)


# --- re-send ------------------------------------------------------------------------------------------


def callback_delivery_resend(
    *, delivery: CallbackDelivery, actor: AbstractBaseUser | AnonymousUser | None
) -> CallbackDelivery:
    """Queue a callback again (any state) with a fresh retry period and attempt count; audited. The payload
    is unchanged, event id included, so a receiver that already has it can recognise the repeat."""
    now = timezone.now()
    with transaction.atomic():
        # The state as it is now, under lock (the caller's copy may be stale).
        before = (
            CallbackDelivery.objects.select_for_update().values_list("state", flat=True).get(id=delivery.id)
        )
        CallbackDelivery.objects.filter(id=delivery.id).update(
            state=CallbackState.PENDING,
            next_attempt_at=now,
            give_up_at=now + timedelta(seconds=settings.NOTIFICATIONS_CALLBACK_MAX_AGE_SECONDS),
            delivered_at=None,
            # A fresh count: backoff starts over, and a worker still posting the old attempt cannot
            # record over this re-send (its update is fenced by its attempt number).
            attempts=0,
        )
        audit_record(
            actor=actor,
            action=AuditAction.CALLBACK_RESEND,
            outcome=AuditOutcome.DONE,
            target=delivery,
            details={
                "from_state": before,
                "event_id": str(delivery.event_id),
                "order_id": str(delivery.order_id),
            },
        )
        transaction.on_commit(_kick)
    delivery.refresh_from_db()
    return delivery


# --- retention ----------------------------------------------------------------------------------------

PURGE_BATCH_SIZE = 5000


def callbacks_purge(*, now: datetime | None = None) -> int:
    """Delete finished callbacks (and their attempts) older than NOTIFICATIONS_CALLBACK_RETENTION_DAYS.

    Their bodies copy recipients' addresses, so they are not kept longer than their use: support looks at
    recent ones. Pending callbacks are never deleted. Returns the number of callbacks deleted.
    """
    days = settings.NOTIFICATIONS_CALLBACK_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    total = 0
    while True:
        ids = list(
            CallbackDelivery.objects.filter(
                created_at__lt=cutoff, state__in=[CallbackState.DELIVERED, CallbackState.FAILED]
            )
            .order_by("created_at")
            .values_list("id", flat=True)[:PURGE_BATCH_SIZE]
        )
        if not ids:
            break
        with transaction.atomic():
            CallbackAttempt.objects.filter(delivery_id__in=ids).delete()
            total += CallbackDelivery.objects.filter(id__in=ids).delete()[0]
        if len(ids) < PURGE_BATCH_SIZE:
            break
    if total:
        logger.info("deleted %d finished status callback(s) older than %d days", total, days)
    return total
