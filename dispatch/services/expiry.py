"""Expiry: when a notification stops being worth sending, and the sweep that ends the ones that never finish.

Expiry is counted from the order's requested send time, as in the reference service: email +48 h; SMS with
sending-time policy Anytime +48 h; Daytime SMS +48 h from the send time when it falls inside the send
window, from that day's window start when it is earlier, and +72 h from that day's window start when it is
later (so a Daytime SMS always has two full windows). Wall-clock arithmetic in the window's time zone keeps
"09:00 + 48 h" at 09:00 across a daylight-saving change.

The reference only terminates ``Succeeded`` email and ``Accepted`` SMS; rows left ``New`` or ``Sending``
past their expiry stayed there forever and kept their order unfinished. Here every notification that is not
final by its expiry (plus a short grace for sends in flight) becomes ``Failed_TTL``, and its order goes
through the completion check.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from dispatch.models import Channel
from dispatch.services.callback_outbox import callbacks_record_notifications
from dispatch.services.completion import order_complete_if_done
from dispatch.services.window import send_window
from orders.models import (
    EMAIL_PENDING_STATUSES,
    SMS_PENDING_STATUSES,
    EmailNotification,
    EmailStatus,
    SendingTimePolicy,
    SmsNotification,
    SmsStatus,
)

logger = logging.getLogger(__name__)

EMAIL_TIME_TO_LIVE = timedelta(hours=48)
SMS_TIME_TO_LIVE = timedelta(hours=48)


def email_expires_at(requested_send_time: datetime) -> datetime:
    """When an email of an order with this send time expires."""
    return requested_send_time + EMAIL_TIME_TO_LIVE


def sms_expires_at(requested_send_time: datetime, policy: str) -> datetime:
    """When an SMS of an order with this send time and sending-time policy expires.

    A Daytime SMS asked for outside the window gets its 48 hours from the window's next opening: before
    the start that day's, after the end the next working day's, past holidays and (when configured)
    weekends, so a message registered on Maundy Thursday evening does not expire over Easter.
    """
    window = send_window()
    if policy != SendingTimePolicy.DAYTIME or window is None:
        return requested_send_time + SMS_TIME_TO_LIVE
    opening, _ = window.next_opening(requested_send_time)
    # Aware arithmetic with a ZoneInfo is wall-clock arithmetic; converting afterwards fixes the offset.
    return (opening.astimezone(window.zone) + SMS_TIME_TO_LIVE).astimezone(UTC)


def _expire_batch(
    model: type[Model], pending: frozenset[str], *, cutoff: datetime, limit: int
) -> list[uuid.UUID]:
    """Turn up to ``limit`` pending rows whose expiry is before ``cutoff`` into Failed_TTL.

    Returns the order id of every row expired. SKIP LOCKED leaves a row that a sender is recording right
    now to the next sweep instead of waiting for it; the outer status test keeps a final status final.
    """
    table = model._meta.db_table
    statuses = sorted(pending)
    sql = f"""
        UPDATE {table} AS n
           SET status = %s,
               status_changed_at = %s,
               last_error = 'Expired while ' || n.status || '.'
         WHERE n.id IN (
                SELECT id FROM {table}
                 WHERE status = ANY(%s) AND expires_at < %s
                 ORDER BY expires_at
                 LIMIT %s
                 FOR UPDATE SKIP LOCKED)
           AND n.status = ANY(%s)
        RETURNING n.order_id, n.id
    """
    failed_ttl = EmailStatus.FAILED_TTL if model is EmailNotification else SmsStatus.FAILED_TTL
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [str(failed_ttl), timezone.now(), statuses, cutoff, limit, statuses])
        rows = cursor.fetchall()
        channel = Channel.EMAIL if model is EmailNotification else Channel.SMS
        callbacks_record_notifications(channel=channel, ids=[row[1] for row in rows])
        return [row[0] for row in rows]


def notifications_expire(*, batch_size: int = 1000) -> int:
    """Set every notification still pending after its expiry (plus grace) to Failed_TTL; complete orders.

    Returns the number of notifications expired. Each batch commits on its own and the completion checks
    run after the commits, so they see the new statuses.
    """
    cutoff = timezone.now() - settings.NOTIFICATIONS_EXPIRY_GRACE
    expired = 0
    orders: set[uuid.UUID] = set()
    for model, pending in (
        (EmailNotification, EMAIL_PENDING_STATUSES),
        (SmsNotification, SMS_PENDING_STATUSES),
    ):
        while True:
            order_ids = _expire_batch(model, pending, cutoff=cutoff, limit=batch_size)
            expired += len(order_ids)
            orders.update(order_ids)
            if len(order_ids) < batch_size:
                break
    for order_id in orders:
        order_complete_if_done(order_id=order_id)
    if expired:
        logger.info("expired %d notification(s) of %d order(s)", expired, len(orders))
    return expired
