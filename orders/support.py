"""Support lookups: every notification sent to one person (NIN) or organization in a period, across creators.

Read by support staff through ``GET /future/dashboard/recipients/notifications/nin`` and ``.../orgnumber``
(scope ``altinn:notifications.support.admin``). A page is a list of shipments (orders), newest requested
send time first, each with the notifications of that recipient; the cursor is the last shipment's
(requested send time, id), so pages never overlap or skip while orders are added. Every lookup, refused
ones included, is written to the audit log with who asked about which identifier.

Queries start from the notifications' partial indexes on the recipient's identifier, then read the
orders by primary key: a lookup never scans the order or notification tables.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from django.db import connection

from core.masking import mask_nin
from orders.audit import AuditAction, AuditOutcome, audit_record
from orders.models import EmailNotification, Order, SmsNotification

logger = logging.getLogger(__name__)

MAX_PAGE_SIZE = 500


class IdentifierKind(Enum):
    NIN = "recipient_national_identity_number"
    ORGANIZATION_NUMBER = "recipient_organization_number"


@dataclass(frozen=True)
class Cursor:
    """The last shipment of the previous page; the next page starts after it."""

    requested_send_time: datetime
    order_id: uuid.UUID


@dataclass(frozen=True)
class Attempt:
    channel: str  # "email" | "sms", as the reference writes them
    destination: str
    status: str
    status_changed_at: datetime


@dataclass(frozen=True)
class SupportShipment:
    order: Order
    attempts: list[Attempt]


@dataclass(frozen=True)
class SupportPage:
    shipments: list[SupportShipment]
    next_cursor: Cursor | None


def _page_sql(kind: IdentifierKind, *, after: bool) -> str:
    order = Order._meta.db_table
    email = EmailNotification._meta.db_table
    sms = SmsNotification._meta.db_table
    column = kind.value
    cursor = "AND (o.requested_send_time, o.id) < (%(after_time)s, %(after_id)s)" if after else ""
    return f"""
        WITH hits AS (
            SELECT order_id FROM {email} WHERE {column} = %(identifier)s
            UNION
            SELECT order_id FROM {sms} WHERE {column} = %(identifier)s
        )
        SELECT o.id FROM {order} o JOIN hits h ON h.order_id = o.id
         WHERE o.requested_send_time >= %(start)s AND o.requested_send_time < %(end)s {cursor}
         ORDER BY o.requested_send_time DESC, o.id DESC
         LIMIT %(limit)s
    """


def support_notifications_list(
    *,
    kind: IdentifierKind,
    identifier: str,
    start: datetime,
    end: datetime,
    page_size: int,
    cursor: Cursor | None = None,
) -> SupportPage:
    """One page of the shipments with a notification to ``identifier`` whose requested send time is in
    [start, end), newest first, after ``cursor``."""
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    params: dict[str, Any] = {
        "identifier": identifier,
        "start": start,
        "end": end,
        "limit": page_size + 1,
    }
    if cursor is not None:
        params.update(after_time=cursor.requested_send_time, after_id=cursor.order_id)
    with connection.cursor() as db:
        db.execute(_page_sql(kind, after=cursor is not None), params)
        ids = [row[0] for row in db.fetchall()]
    more = len(ids) > page_size
    ids = ids[:page_size]
    if not ids:
        return SupportPage([], None)
    orders = Order.objects.filter(id__in=ids).only(
        "id",
        "creator",
        "resource_id",
        "senders_reference",
        "requested_send_time",
        "notification_channel",
        "type",
    )
    by_id = {order.id: order for order in orders}
    attempts: dict[uuid.UUID, list[Attempt]] = {order_id: [] for order_id in ids}
    match = {kind.value: identifier, "order_id__in": ids}
    ordering = ("order_id", "recipient_position", "created_at", "id")
    for email in (
        EmailNotification.objects.filter(**match)
        .only("order_id", "to_address", "status", "status_changed_at")
        .order_by(*ordering)
    ):
        attempts[email.order_id].append(
            Attempt("email", email.to_address, email.status, email.status_changed_at)
        )
    for sms in (
        SmsNotification.objects.filter(**match)
        .only("order_id", "mobile_number", "status", "status_changed_at")
        .order_by(*ordering)
    ):
        attempts[sms.order_id].append(Attempt("sms", sms.mobile_number, sms.status, sms.status_changed_at))
    shipments = [SupportShipment(by_id[order_id], attempts[order_id]) for order_id in ids]
    last = shipments[-1].order
    next_cursor = Cursor(last.requested_send_time, last.id) if more else None
    return SupportPage(shipments, next_cursor)


def shown_identifier(kind: IdentifierKind, identifier: str) -> str:
    """The identifier as logs show it: a NIN masked (core.masking), an organization number as it is."""
    return mask_nin(identifier) if kind is IdentifierKind.NIN else identifier


def support_lookup_audit(
    *,
    caller: str,
    kind: IdentifierKind,
    identifier: str | None,
    start: datetime | None,
    end: datetime | None,
    outcome: AuditOutcome,
    shipments: int = 0,
    reason: str = "",
) -> None:
    """Record who looked up which identifier (the audit log keeps it whole: it is what the entry is
    for; the log line masks a NIN)."""
    details: dict[str, object] = {
        "identifierType": "nationalIdentityNumber" if kind is IdentifierKind.NIN else "organizationNumber",
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        "shipments": shipments,
    }
    if reason:
        details["reason"] = reason
    audit_record(
        actor=None,
        actor_username=caller,
        action=AuditAction.SUPPORT_LOOKUP,
        outcome=outcome,
        target_type="recipient." + details["identifierType"],  # type: ignore[operator]
        target_id=(identifier or "")[:64],
        details=details,
    )
    logger.info(
        "support lookup by %s of %s %s: %s, %d shipment(s)",
        caller,
        details["identifierType"],
        shown_identifier(kind, identifier) if identifier else "-",
        outcome,
        shipments,
    )
