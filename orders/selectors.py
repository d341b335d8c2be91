"""Reads of the orders app, always scoped to the creator, with a fixed number of queries per call.

An order of another creator is indistinguishable from an unknown id: both are None.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from uuid import UUID

from django.db.models import Count, IntegerField, OuterRef, Prefetch, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from orders.models import (
    EMAIL_SUCCESS_STATUSES,
    SMS_SUCCESS_STATUSES,
    EmailNotification,
    NotificationBase,
    Order,
    OrderChain,
    Recipient,
    SmsNotification,
)


def _orders_with_details(creator: str) -> QuerySet[Order]:
    # Templates join in; recipients come in one extra query for all the orders together.
    return (
        Order.objects.filter(creator=creator)
        .select_related("email_template", "sms_template")
        .prefetch_related(Prefetch("recipients", queryset=Recipient.objects.order_by("position")))
    )


def order_get(*, order_id: UUID, creator: str) -> Order | None:
    """The order as registered, with templates and recipients (two queries)."""
    return _orders_with_details(creator).filter(id=order_id).first()


def order_list(*, creator: str, senders_reference: str) -> list[Order]:
    """The creator's orders with exactly this sender's reference, oldest first (two queries)."""
    return list(
        _orders_with_details(creator).filter(senders_reference=senders_reference).order_by("created_at")
    )


def _count(
    model: type[EmailNotification | SmsNotification], statuses: Collection[str] | None = None
) -> Coalesce:
    rows = model.objects.filter(order=OuterRef("pk"))
    if statuses is not None:
        rows = rows.filter(status__in=list(statuses))
    counted = rows.order_by().values("order").annotate(n=Count("*")).values("n")
    # Served by the (order, status) index of each notification table.
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def order_get_with_status(*, order_id: UUID, creator: str) -> Order | None:
    """The order with its notification counts per channel and outcome, in one query.

    Annotated: ``email_generated``, ``email_succeeded``, ``sms_generated``, ``sms_succeeded``.

    Succeeded counts Succeeded + Delivered email and Accepted + Delivered SMS, the same rule as the
    notification lists.
    """
    return (
        Order.objects.filter(id=order_id, creator=creator)
        .annotate(
            email_generated=_count(EmailNotification),
            email_succeeded=_count(EmailNotification, EMAIL_SUCCESS_STATUSES),
            sms_generated=_count(SmsNotification),
            sms_succeeded=_count(SmsNotification, SMS_SUCCESS_STATUSES),
        )
        .first()
    )


@dataclass(frozen=True)
class OrderNotifications:
    order: Order
    notifications: list[EmailNotification] | list[SmsNotification]


_NOTIFICATION_FIELDS = (
    "id",
    "order_id",
    "status",
    "status_changed_at",
    "recipient_position",
    "recipient_organization_number",
    "recipient_national_identity_number",
    "served_positions",
)


def served_recipients_attach(order_id: UUID, rows: Sequence[NotificationBase]) -> None:
    """Set ``served_recipients`` (the recipients as registered, in order) on the rows that serve more
    than one recipient; one query, made only when there are any."""
    positions = {p for row in rows if row.served_positions for p in row.served_positions}
    if not positions:
        return
    registered = {
        r.position: {
            key: value
            for key, value in (
                ("organizationNumber", r.organization_number),
                ("nationalIdentityNumber", r.national_identity_number),
                ("externalIdentity", r.external_identity),
                ("emailAddress", r.email_address),
                ("mobileNumber", r.mobile_number),
            )
            if value is not None
        }
        for r in Recipient.objects.filter(order_id=order_id, position__in=sorted(positions))
    }
    for row in rows:
        if row.served_positions:
            row.served_recipients = [  # type: ignore[attr-defined]
                registered[p] for p in sorted(row.served_positions) if p in registered
            ]


def _order_head(order_id: UUID, creator: str) -> Order | None:
    return Order.objects.filter(id=order_id, creator=creator).only("id", "senders_reference").first()


def email_notification_list(*, order_id: UUID, creator: str) -> OrderNotifications | None:
    """The order's email notifications in recipient order (two queries, however many there are)."""
    order = _order_head(order_id, creator)
    if order is None:
        return None
    rows = list(
        EmailNotification.objects.filter(order_id=order.id)
        .only(*_NOTIFICATION_FIELDS, "to_address")
        .order_by("recipient_position", "created_at", "id")
    )
    served_recipients_attach(order.id, rows)
    return OrderNotifications(order=order, notifications=rows)


def sms_notification_list(*, order_id: UUID, creator: str) -> OrderNotifications | None:
    """The order's SMS notifications in recipient order (two queries, however many there are)."""
    order = _order_head(order_id, creator)
    if order is None:
        return None
    rows = list(
        SmsNotification.objects.filter(order_id=order.id)
        .only(*_NOTIFICATION_FIELDS, "mobile_number")
        .order_by("recipient_position", "created_at", "id")
    )
    served_recipients_attach(order.id, rows)
    return OrderNotifications(order=order, notifications=rows)


# --- The future API: order chains and shipments ----------------------------------------------------


def order_chain_get(*, chain_id: UUID, creator: str) -> OrderChain | None:
    """The chain with its orders (and their SMS templates, for the part count): two queries."""
    orders = Order.objects.select_related("sms_template").defer("recipient_lookup", "processing_note")
    return (
        OrderChain.objects.filter(id=chain_id, creator=creator)
        .prefetch_related(Prefetch("orders", queryset=orders))
        .first()
    )


@dataclass(frozen=True)
class Shipment:
    order: Order
    emails: list[EmailNotification]
    sms: list[SmsNotification]


def shipment_get(*, order_id: UUID, creator: str) -> Shipment | None:
    """An order (of any type) with every notification's address and status: three queries (a fourth
    for the recipients a deduplicated notification serves, when there are any)."""
    order = (
        Order.objects.filter(id=order_id, creator=creator)
        .only("id", "senders_reference", "type", "status", "status_changed_at")
        .first()
    )
    if order is None:
        return None
    ordering = ("recipient_position", "created_at", "id")
    emails = list(
        EmailNotification.objects.filter(order_id=order.id)
        .only("id", "to_address", "status", "status_changed_at", "served_positions")
        .order_by(*ordering)
    )
    sms = list(
        SmsNotification.objects.filter(order_id=order.id)
        .only("id", "mobile_number", "status", "status_changed_at", "served_positions")
        .order_by(*ordering)
    )
    served_recipients_attach(order.id, [*emails, *sms])
    return Shipment(order=order, emails=emails, sms=sms)
