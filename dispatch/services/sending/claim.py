"""Claiming: due New notifications move to Sending in one committed statement unless the provider paused."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from dispatch.models import Channel, ProviderPause
from dispatch.providers.base import AttachmentReference, EmailMessage, SmsMessage
from dispatch.services.window import sms_send_window_is_open
from orders.models import (
    EmailAttachment,
    EmailNotification,
    Order,
    OrderType,
    SendingTimePolicy,
    SmsNotification,
)

logger = logging.getLogger(__name__)


NotificationModel = type[EmailNotification] | type[SmsNotification]


@dataclass(frozen=True)
class Claimed:
    message: EmailMessage | SmsMessage
    order_id: uuid.UUID
    attempts: int
    claimed_at: datetime
    # The claim holding the row: every write of the claimer is conditional on it.
    claim_id: uuid.UUID
    # When the order wanted it sent (its send time, or its registration when later): the send latency's
    # start in /metrics.
    due_at: datetime | None = None
    # Whether its order has a status callback URL (None: unknown, look it up when it becomes final).
    callback: bool | None = None


def _model(channel: str) -> NotificationModel:
    return EmailNotification if channel == Channel.EMAIL else SmsNotification


# --- pauses -------------------------------------------------------------------------------------------


def provider_pause(*, key: str, until: datetime, reason: str) -> None:
    """Pause claims for a provider until ``until``; an existing longer pause is kept."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {ProviderPause._meta.db_table} (key, paused_until, reason, updated_at)
            VALUES (%s, %s, %s, %s)
            ON CONFLICT (key) DO UPDATE SET
                paused_until = GREATEST({ProviderPause._meta.db_table}.paused_until, EXCLUDED.paused_until),
                reason = EXCLUDED.reason,
                updated_at = EXCLUDED.updated_at
            """,
            [key, until, reason[:1000], timezone.now()],
        )


def provider_paused_until(*, key: str, now: datetime) -> datetime | None:
    pause = ProviderPause.objects.filter(key=key, paused_until__gt=now).first()
    return pause.paused_until if pause else None


# --- claim --------------------------------------------------------------------------------------------


def notifications_due(*, channel: str, now: datetime | None = None) -> bool:
    """Whether a New notification of ``channel`` could be claimed now (one query on the New index).

    The claim's conditions without its lock and without the provider's pause: a row found here may
    still be taken by another worker first (then the claim finds nothing).
    """
    # Ordered as the claim is, so PostgreSQL reads the partial index of New rows, the one index holding no
    # Accepted rows of a large run (asked every few milliseconds between a batch's messages).
    due = _due(_model(channel), channel, now or timezone.now()).order_by("created_at", "id")
    return bool(due.values_list("id", flat=True)[:1])


class _Row(NamedTuple):
    """A claimed row: what its message is built from (RETURNING of the claim's UPDATE)."""

    id: uuid.UUID
    order_id: uuid.UUID
    attempts: int  # after the claim counted this attempt
    created_at: datetime
    to: str
    subject: str | None
    body: str | None


def _due(model: Any, channel: str, now: datetime) -> Any:
    """The claim's conditions: New, not expired, past any backoff, and inside the SMS window if Daytime."""
    queryset = model.objects.filter(status="New", expires_at__gt=now).filter(
        Q(not_before__isnull=True) | Q(not_before__lte=now)
    )
    if channel == Channel.SMS and not sms_send_window_is_open(now):
        queryset = queryset.exclude(sending_time_policy=SendingTimePolicy.DAYTIME)
    return queryset


def notifications_claim(
    *, channel: str, pause_key: str, limit: int, now: datetime | None = None
) -> list[Claimed]:
    """Move up to ``limit`` sendable New notifications to Sending and return them (committed).

    One UPDATE picks the oldest due rows (``FOR UPDATE SKIP LOCKED``, so claimers never wait for each
    other), moves them to Sending and returns only what their messages need: no model instance per row,
    and one round trip fewer than selecting the rows and updating them by id.
    """
    now = now or timezone.now()
    model: Any = _model(channel)  # the two notification models share every field used here
    table = model._meta.db_table
    address, subject = ("to_address", "subject") if channel == Channel.EMAIL else ("mobile_number", "NULL")
    claim_id = uuid.uuid4()
    # No transaction around the claim: its UPDATE is one statement, committed when it returns (autocommit),
    # the pause is read just before it, and the orders after it (they never change once registered).
    # BEGIN and COMMIT were two of a claim's five round trips, on an immediate email's path.
    if provider_paused_until(key=pause_key, now=now) is not None:
        return []
    picked = _due(model, channel, now).order_by("created_at", "id")
    due_sql, picked_params = picked.values("id")[:limit].query.sql_with_params()
    # The lock clause written out: Django refuses select_for_update() outside a transaction, though a
    # single statement in autocommit is one.
    picked_sql = f"{due_sql} FOR UPDATE SKIP LOCKED"
    with connection.cursor() as cursor:
        # MATERIALIZED: the pick runs exactly once. As a plain subquery the planner may put it on the
        # inner side of a join and run it again per row, and each run of a LIMIT ... SKIP LOCKED can
        # pick other rows: a claim of more than ``limit``.
        cursor.execute(
            f"""
            WITH picked AS MATERIALIZED ({picked_sql})
            UPDATE {table} AS n
               SET status = 'Sending', claimed_at = %s, claim_id = %s, lease_until = %s,
                   status_changed_at = %s, attempts = n.attempts + 1
              FROM picked
             WHERE n.id = picked.id
         RETURNING n.id, n.order_id, n.attempts, n.created_at, n.{address}, {subject}, n.body
            """,
            [
                *picked_params,
                now,
                claim_id,
                now + timedelta(seconds=settings.NOTIFICATIONS_SEND_LEASE_SECONDS),
                now,
            ],
        )
        rows = sorted((_Row(*row) for row in cursor.fetchall()), key=lambda row: (row.created_at, row.id))
    if not rows:
        return []
    # A batch's rows mostly share one order: read each order and its template once, not per row.
    template = "email_template" if channel == Channel.EMAIL else "sms_template"
    orders = Order.objects.select_related(template).in_bulk({row.order_id for row in rows})
    attachments = _attachments([o.id for o in orders.values() if o.type == OrderType.COMPOSED])
    return [
        Claimed(
            message=_message(
                channel, row, orders[row.order_id], attachments=attachments.get(row.order_id, ())
            ),
            order_id=row.order_id,
            attempts=row.attempts,
            claimed_at=now,
            claim_id=claim_id,
            due_at=max(orders[row.order_id].requested_send_time, orders[row.order_id].created_at),
            callback=bool(orders[row.order_id].status_callback_url),
        )
        for row in rows
    ]


def _attachments(order_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[AttachmentReference, ...]]:
    """The attachments of the composed emails among the batch's orders (only those have any)."""
    found: dict[uuid.UUID, list[AttachmentReference]] = {}
    if order_ids:
        for row in EmailAttachment.objects.filter(order_id__in=order_ids).order_by("order_id", "position"):
            found.setdefault(row.order_id, []).append(
                AttachmentReference(filename=row.filename, mime_type=row.mime_type, url=row.url)
            )
    return {order_id: tuple(items) for order_id, items in found.items()}


def claimed_message(row: EmailNotification | SmsNotification) -> EmailMessage | SmsMessage:
    """The message of one row already claimed elsewhere (its order and template loaded with it)."""
    if isinstance(row, EmailNotification):
        data = _Row(row.id, row.order_id, row.attempts, row.created_at, row.to_address, row.subject, row.body)
        return _message(Channel.EMAIL, data, row.order)
    data = _Row(row.id, row.order_id, row.attempts, row.created_at, row.mobile_number, None, row.body)
    return _message(Channel.SMS, data, row.order)


def _message(
    channel: str, row: _Row, order: Order, *, attachments: tuple[AttachmentReference, ...] = ()
) -> EmailMessage | SmsMessage:
    if channel == Channel.EMAIL:
        template = order.email_template
        return EmailMessage(
            notification_id=row.id,
            to=row.to,
            from_address=(template.from_address if template else "")
            or settings.NOTIFICATIONS_DEFAULT_EMAIL_FROM,
            subject=row.subject if row.subject is not None else (template.subject if template else ""),
            body=row.body if row.body is not None else (template.body if template else ""),
            content_type=template.content_type if template else "Plain",
            attempt=row.attempts,
            attachments=attachments,
        )
    sms_template = order.sms_template
    return SmsMessage(
        notification_id=row.id,
        to=row.to,
        sender=(sms_template.sender_number if sms_template else "")
        or settings.NOTIFICATIONS_DEFAULT_SMS_SENDER,
        body=row.body if row.body is not None else (sms_template.body if sms_template else ""),
        attempt=row.attempts,
    )
