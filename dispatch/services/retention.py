"""Retention: purge what was sent, and to whom, once an order has been final for long enough.

After ``NOTIFICATIONS_RETENTION_DAYS`` (0 keeps everything) an order in a final status (``Completed``,
``SendConditionNotMet``, ``Cancelled``) loses its personal content; its statuses, counts, times and
references stay, so the status API, the admin's counts and the dashboard are unchanged. Purged:

* the order's texts (template subject and body) and its receipt's ``recipientLookup``;
* its recipients' addresses and identifiers (email, mobile number, NIN, organization number);
* per notification: the address, the rendered subject and body, the recipient's identifiers and name and
  the provider's last error (which can quote the address);
* the provider's raw answers (``DeliveryAttempt.error`` and ``raw_response``), the raw delivery reports
  and the sandbox's copies of the messages.

An address becomes ``purged`` (``purged-2``, ``purged-3`` … for an organization's further addresses, which
keeps the one-notification-per-address constraint intact); no real address looks like that (an email
address has an ``@``, a mobile number a ``+``), and a purged notification is never retried.

Each order is purged in its own transaction with the order row locked and its status re-checked, so a
retry that reopens the order at the same moment either happens first (and the order is skipped) or waits.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from dispatch.models import DeliveryAttempt, DeliveryReport, SandboxMessage
from orders.models import (
    ORDER_FINAL_STATUSES,
    EmailNotification,
    Order,
    Recipient,
    SmsNotification,
)
from templates.models import EmailTemplate, SmsTemplate

logger = logging.getLogger(__name__)

PURGED_ADDRESS = "purged"
PURGED_ADDRESS_REGEX = r"^purged(-[0-9]+)?$"
_PURGED_ADDRESS_PATTERN = re.compile(PURGED_ADDRESS_REGEX)
# Orders looked at per query; each is then purged in its own short transaction.
PURGE_BATCH_SIZE = 200


def is_purged_address(address: str | None) -> bool:
    """Whether a notification's address was replaced by the retention purge."""
    return bool(address) and _PURGED_ADDRESS_PATTERN.match(address or "") is not None


@dataclass
class PurgeSummary:
    orders: int = 0
    notifications: int = 0
    orphan_attempts: int = 0


def _has_content() -> Q:
    """Orders whose content is still there: an identifier on a recipient, or a template text."""
    identified = Recipient.objects.filter(order=OuterRef("pk")).filter(
        Q(email_address__isnull=False)
        | Q(mobile_number__isnull=False)
        | Q(national_identity_number__isnull=False)
        | Q(organization_number__isnull=False)
        | Q(external_identity__isnull=False)
    )
    return (
        Q(Exists(identified))
        | (Q(email_template__isnull=False) & ~Q(email_template__body=""))
        | (Q(sms_template__isnull=False) & ~Q(sms_template__body=""))
    )


def _purge_notifications(model: type[EmailNotification] | type[SmsNotification], order_id: uuid.UUID) -> int:
    """Blank one order's notifications of one kind in one statement; returns how many rows."""
    table = model._meta.db_table
    address = "to_address" if model is EmailNotification else "mobile_number"
    subject = "subject = NULL," if model is EmailNotification else ""
    # Numbered per recipient so an organization's several addresses stay distinct under the
    # (order, recipient_position, address) unique constraint; an empty address (a recipient that was
    # reserved or had none) stays empty.
    sql = f"""
        UPDATE {table} AS n SET
            {address} = CASE
                WHEN n.{address} = '' THEN ''
                WHEN numbered.rn = 1 THEN %s
                ELSE %s || '-' || numbered.rn
            END,
            {subject}
            body = NULL,
            recipient_name = NULL,
            recipient_national_identity_number = NULL,
            recipient_organization_number = NULL,
            last_error = ''
        FROM (
            SELECT id, row_number() OVER (PARTITION BY recipient_position ORDER BY id) AS rn
            FROM {table} WHERE order_id = %s
        ) AS numbered
        WHERE n.id = numbered.id
    """  # table and column names are ours; every value is a parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, [PURGED_ADDRESS, PURGED_ADDRESS, order_id])
        return int(cursor.rowcount)


def order_content_purge(*, order_id: uuid.UUID) -> int | None:
    """Purge one final order's content; None when it is no longer final (or is gone)."""
    with transaction.atomic():
        order = (
            Order.objects.select_for_update()
            .filter(id=order_id, status__in=sorted(ORDER_FINAL_STATUSES))
            .only("id", "email_template_id", "sms_template_id")
            .first()
        )
        if order is None:
            return None
        if order.email_template_id:
            EmailTemplate.objects.filter(id=order.email_template_id).update(subject="", body="")
        if order.sms_template_id:
            SmsTemplate.objects.filter(id=order.sms_template_id).update(body="")
        Order.objects.filter(id=order_id).update(recipient_lookup=None)
        Recipient.objects.filter(order_id=order_id).update(
            email_address=None,
            mobile_number=None,
            national_identity_number=None,
            organization_number=None,
            external_identity=None,  # an ID-porten email URN holds an address
        )
        purged = _purge_notifications(EmailNotification, order_id)
        purged += _purge_notifications(SmsNotification, order_id)
        notification_ids = [
            *EmailNotification.objects.filter(order_id=order_id).values_list("id", flat=True),
            *SmsNotification.objects.filter(order_id=order_id).values_list("id", flat=True),
        ]
        DeliveryAttempt.objects.filter(order_id=order_id).update(error="", raw_response="")
        for start in range(0, len(notification_ids), 5000):
            chunk = notification_ids[start : start + 5000]
            DeliveryReport.objects.filter(notification_id__in=chunk).update(raw="")
            SandboxMessage.objects.filter(notification_id__in=chunk).update(recipient="", subject="", body="")
    return purged


def orphan_attempts_purge(*, cutoff: datetime) -> int:
    """Blank the raw answers of attempts older than ``cutoff`` whose order no longer exists.

    An instant order whose provider refused it is deleted (the client retries), but its attempt is kept
    for support; no order purge reaches it, so it is purged here by age.
    """
    orphaned = ~Exists(Order.objects.filter(id=OuterRef("order_id")))
    return (
        DeliveryAttempt.objects.filter(started_at__lt=cutoff)
        .filter(orphaned)
        .exclude(error="", raw_response="")
        .update(error="", raw_response="")
    )


def notification_content_purge(*, now: datetime | None = None) -> PurgeSummary:
    """Purge the content of every order final for more than NOTIFICATIONS_RETENTION_DAYS.

    1. Pick final orders whose status is older than the cut-off and that still have content, oldest
       first, a batch at a time (already purged orders no longer match, so a rerun starts where the last
       one stopped).
    2. Purge each in its own transaction (``order_content_purge``).
    """
    summary = PurgeSummary()
    days = int(settings.NOTIFICATIONS_RETENTION_DAYS)
    if days <= 0:
        return summary
    cutoff = (now or timezone.now()) - timedelta(days=days)
    skipped: set[uuid.UUID] = set()
    while True:
        batch = list(
            Order.objects.filter(status__in=sorted(ORDER_FINAL_STATUSES), status_changed_at__lt=cutoff)
            .filter(_has_content())
            .exclude(id__in=skipped)
            .order_by("status_changed_at", "id")
            .values_list("id", flat=True)[:PURGE_BATCH_SIZE]
        )
        for order_id in batch:
            purged = order_content_purge(order_id=order_id)
            if purged is None:
                skipped.add(order_id)
                continue
            summary.orders += 1
            summary.notifications += purged
        if len(batch) < PURGE_BATCH_SIZE:
            break
    summary.orphan_attempts = orphan_attempts_purge(cutoff=cutoff)
    if summary.orders:
        logger.info(
            "retention: purged the content of %d order(s), %d notification(s), final before %s",
            summary.orders,
            summary.notifications,
            cutoff.isoformat(),
        )
    return summary
