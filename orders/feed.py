"""The status feed: one entry per order that reached a final status, read by its creator with a cursor.

1. **Write** (``status_feed_record``): called in the transaction that moves an order to ``Completed``,
   ``SendConditionNotMet`` or ``Cancelled``, so the entry exists exactly when the final status does. One
   ``INSERT … SELECT`` snapshots the order's notifications; the unique order makes a second write (a
   duplicate completion check, an order completed again after a retry) a no-op.
2. **Read** (``status_feed_list``): the creator's entries after (or, descending, before) a sequence
   number. Sequence numbers are the table's ids. The reference hides entries younger than two seconds
   so that an entry committed late with a lower id is not skipped by a cursor that already passed it;
   here every write first takes a per-creator transaction lock, so one creator's ids are handed out in
   commit order and a reader can never see a higher id before a lower one: entries show at once.
3. **Purge** (``status_feed_purge``): entries older than ``NOTIFICATIONS_STATUS_FEED_RETENTION_DAYS``
   go; before that, once an entry is older than ``NOTIFICATIONS_RETENTION_DAYS`` (the service's retention
   of personal data), its destinations are left out (``status_feed_content_purge``).

``Cancelled`` is a feed status here (the reference leaves it out): staff can cancel an order from the
admin, and a client that follows the feed would otherwise wait for that order forever.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from orders.models import (
    EmailNotification,
    Order,
    OrderStatus,
    SmsNotification,
    StatusFeedEntry,
)

logger = logging.getLogger(__name__)

FEED_STATUSES = (OrderStatus.COMPLETED, OrderStatus.SEND_CONDITION_NOT_MET, OrderStatus.CANCELLED)
MAX_PAGE_SIZE = 500
PURGE_BATCH_SIZE = 10_000

_ORDER = Order._meta.db_table
_FEED = StatusFeedEntry._meta.db_table
_EMAIL = EmailNotification._meta.db_table
_SMS = SmsNotification._meta.db_table

# Locks are taken in creator order, so two transactions completing orders of the same creators in
# different orders cannot deadlock. The key space is this feature's own ("status-feed:" prefix).
_LOCK_SQL = f"""
    SELECT pg_advisory_xact_lock(hashtextextended('status-feed:' || c.creator, 0))
      FROM (SELECT DISTINCT creator FROM {_ORDER} WHERE id = ANY(%(ids)s) ORDER BY creator) AS c
"""


def _recipients(table: str, channel: str, address: str) -> str:
    return f"""
        COALESCE((SELECT jsonb_agg(jsonb_build_object(
                             'channel', '{channel}', 'destination', n.{address},
                             'status', n.status, 'lastUpdate', n.status_changed_at)
                         ORDER BY n.recipient_position, n.created_at, n.id)
                    FROM {table} n WHERE n.order_id = o.id), '[]'::jsonb)"""


_INSERT_SQL = f"""
    INSERT INTO {_FEED} (order_id, creator, order_status, last_update, recipients, created_at)
    SELECT o.id, o.creator, o.status, o.status_changed_at,
           {_recipients(_EMAIL, "Email", "to_address")} || {_recipients(_SMS, "Sms", "mobile_number")},
           %(now)s
      FROM {_ORDER} o
     WHERE o.id = ANY(%(ids)s) AND o.status = ANY(%(statuses)s)
     ORDER BY o.id
    ON CONFLICT (order_id) DO NOTHING
"""


def status_feed_record(*, order_ids: Collection[UUID]) -> int:
    """Write the feed entry of every order in ``order_ids`` that is in a final status and has none yet.

    Call it inside the transaction that made the orders final (it raises otherwise: outside one, the
    per-creator lock would be released before the entry is visible). Returns the number of entries
    written.
    """
    if not order_ids:
        return 0
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("status_feed_record must run in the transaction that makes the order final")
    ids = sorted(set(order_ids))
    statuses: list[str] = list(FEED_STATUSES)
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_SQL, {"ids": ids})
        cursor.execute(_INSERT_SQL, {"ids": ids, "statuses": statuses, "now": timezone.now()})
        written: int = cursor.rowcount
    return max(written, 0)


def status_feed_list(
    *, creator: str, seq: int, page_size: int, descending: bool = False
) -> list[StatusFeedEntry]:
    """The creator's entries after ``seq`` in ascending order, or before it in descending order.

    Descending with ``seq`` 0 starts at the newest entry. One query, on the (creator, id) index.
    """
    entries = (
        StatusFeedEntry.objects.filter(creator=creator)
        .select_related("order")
        .only(
            "id",
            "order_status",
            "last_update",
            "recipients",
            "order__id",
            "order__senders_reference",
            "order__type",
        )
    )
    if descending:
        if seq > 0:
            entries = entries.filter(id__lt=seq)
        entries = entries.order_by("-id")
    else:
        entries = entries.filter(id__gt=seq).order_by("id")
    return list(entries[: max(1, min(page_size, MAX_PAGE_SIZE))])


def status_feed_purge(*, now: datetime | None = None, batch_size: int = PURGE_BATCH_SIZE) -> int:
    """Delete entries older than the retention, ``batch_size`` per statement; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.NOTIFICATIONS_STATUS_FEED_RETENTION_DAYS)
    total = 0
    while True:
        batch = list(
            StatusFeedEntry.objects.filter(created_at__lt=cutoff)
            .order_by("id")
            .values_list("id", flat=True)[:batch_size]
        )
        if not batch:
            break
        deleted, _ = StatusFeedEntry.objects.filter(id__in=batch).delete()
        total += deleted
        if len(batch) < batch_size:
            break
    if total:
        logger.info("deleted %d status feed entries older than %s", total, cutoff.isoformat())
    return total


_CONTENT_PURGE_SQL = f"""
    UPDATE {_FEED} AS f
       SET recipients = (SELECT COALESCE(jsonb_agg(r.item - 'destination' ORDER BY r.position), '[]'::jsonb)
                           FROM jsonb_array_elements(f.recipients) WITH ORDINALITY AS r(item, position))
     WHERE f.created_at < %(cutoff)s AND jsonb_path_exists(f.recipients, '$[*].destination')
"""


def status_feed_content_purge(*, now: datetime | None = None) -> int:
    """Leave the destinations (addresses) out of entries older than NOTIFICATIONS_RETENTION_DAYS.

    The entry's order has been final at least that long, so its own addresses are purged by the
    retention job; the feed's snapshot must not keep them longer. Statuses and times stay. 0 keeps all.
    """
    days = int(settings.NOTIFICATIONS_RETENTION_DAYS)
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CONTENT_PURGE_SQL, {"cutoff": cutoff})
        purged: int = cursor.rowcount
    if purged:
        logger.info("left the destinations out of %d status feed entries", purged)
    return max(purged, 0)
