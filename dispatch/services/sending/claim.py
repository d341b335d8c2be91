"""Claiming: move due New notifications to Sending in one short transaction, unless the provider is paused."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
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
    now = now or timezone.now()
    model: Any = _model(channel)  # the two notification models share every field used here
    queryset = model.objects.filter(status="New", expires_at__gt=now).filter(
        Q(not_before__isnull=True) | Q(not_before__lte=now)
    )
    if channel == Channel.SMS and not sms_send_window_is_open(now):
        queryset = queryset.exclude(sending_time_policy=SendingTimePolicy.DAYTIME)
    return bool(queryset.exists())


def notifications_claim(
    *, channel: str, pause_key: str, limit: int, now: datetime | None = None
) -> list[Claimed]:
    """Move up to ``limit`` sendable New notifications to Sending and return them (committed)."""
    now = now or timezone.now()
    model: Any = _model(channel)  # the two notification models share every field used here
    with transaction.atomic():
        if provider_paused_until(key=pause_key, now=now) is not None:
            return []
        # `of=("self",)`: lock only the notification rows, never the shared order or template rows.
        queryset = (
            model.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status="New", expires_at__gt=now)
            .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
        )
        if channel == Channel.SMS and not sms_send_window_is_open(now):
            queryset = queryset.exclude(sending_time_policy=SendingTimePolicy.DAYTIME)
        rows = list(queryset.order_by("created_at", "id")[:limit])
        if not rows:
            return []
        # A batch's rows mostly share one order: read each order and its template once, not per row
        # (select_related built an order and a template object for every one of up to 500 rows).
        template = "email_template" if channel == Channel.EMAIL else "sms_template"
        orders = Order.objects.select_related(template).in_bulk({row.order_id for row in rows})
        for row in rows:
            row.order = orders[row.order_id]
        attachments = _attachments([o.id for o in orders.values() if o.type == OrderType.COMPOSED])
        claim_id = uuid.uuid4()
        model.objects.filter(id__in=[row.id for row in rows]).update(
            status="Sending",
            claimed_at=now,
            claim_id=claim_id,
            lease_until=now + timedelta(seconds=settings.NOTIFICATIONS_SEND_LEASE_SECONDS),
            status_changed_at=now,
            attempts=F("attempts") + 1,
        )
    return [
        Claimed(
            message=_message(row, attempt=row.attempts + 1, attachments=attachments.get(row.order_id, ())),
            order_id=row.order_id,
            attempts=row.attempts + 1,
            claimed_at=now,
            claim_id=claim_id,
            due_at=max(row.order.requested_send_time, row.order.created_at),
            callback=bool(row.order.status_callback_url),
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


def _message(
    row: EmailNotification | SmsNotification,
    *,
    attempt: int,
    attachments: tuple[AttachmentReference, ...] = (),
) -> EmailMessage | SmsMessage:
    order = row.order
    if isinstance(row, EmailNotification):
        template = order.email_template
        return EmailMessage(
            notification_id=row.id,
            to=row.to_address,
            from_address=(template.from_address if template else "")
            or settings.NOTIFICATIONS_DEFAULT_EMAIL_FROM,
            subject=row.subject if row.subject is not None else (template.subject if template else ""),
            body=row.body if row.body is not None else (template.body if template else ""),
            content_type=template.content_type if template else "Plain",
            attempt=attempt,
            attachments=attachments,
        )
    sms_template = order.sms_template
    return SmsMessage(
        notification_id=row.id,
        to=row.mobile_number,
        sender=(sms_template.sender_number if sms_template else "")
        or settings.NOTIFICATIONS_DEFAULT_SMS_SENDER,
        body=row.body if row.body is not None else (sms_template.body if sms_template else ""),
        attempt=attempt,
    )
