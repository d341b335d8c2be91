"""Cancelling what an order chain has not sent yet: the whole chain, or one reminder.

The rule is v1 cancel's (``orders.services.order_cancel``): a shipment can be cancelled while it is
Registered and its send time is more than five minutes away; a conditional UPDATE decides, so a cancel
racing the pipeline's claim cannot both win. Each cancelled shipment gets its ``Order_Cancelled`` entry in
the status feed in the same transaction. Another creator's chain answers like an unknown one (404).

Cancelling a chain needs its main notification to be cancellable (409 once it is being processed or
sent; cancel single reminders then); with it go every reminder still Registered beyond the margin. A
reminder already processed (or too close to its send time) keeps its status, which the answer shows.
Cancelling again answers 200 with nothing changed.
"""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from core.problem_codes import CHAIN_NOT_FOUND, SHIPMENT_NOT_FOUND
from core.problems import ConflictError
from orders.chains import AltinnProblem
from orders.feed import status_feed_record
from orders.models import Order, OrderChain, OrderStatus, OrderType
from orders.selectors import order_chain_get
from orders.services import CANCEL_MARGIN

logger = logging.getLogger(__name__)

MSG_CHAIN_NOT_CANCELLABLE = (
    "The order chain can no longer be cancelled: its notification is being processed or was sent, or its "
    "send time is less than five minutes away. Reminders not yet sent can be cancelled one by one."
)
MSG_REMINDER_NOT_CANCELLABLE = (
    "The reminder can no longer be cancelled: only a registered reminder whose send time is more than five "
    "minutes away can be."
)


class ChainNotFound(AltinnProblem):
    status_code = 404
    title = CHAIN_NOT_FOUND.title


class ReminderNotFound(AltinnProblem):
    status_code = 404
    title = SHIPMENT_NOT_FOUND.title
    code = SHIPMENT_NOT_FOUND.code


def _cancel(order_ids: list[UUID], *, now: datetime) -> list[UUID]:
    """Cancel the still cancellable ones of ``order_ids`` (in a transaction); returns the ids cancelled."""
    cancelled = list(
        Order.objects.filter(
            id__in=order_ids, status=OrderStatus.REGISTERED, requested_send_time__gt=now + CANCEL_MARGIN
        ).values_list("id", flat=True)
    )
    if cancelled:
        Order.objects.filter(id__in=cancelled, status=OrderStatus.REGISTERED).update(
            status=OrderStatus.CANCELLED, status_changed_at=now, updated_at=now
        )
        status_feed_record(order_ids=cancelled)
    return cancelled


def chain_cancel(*, chain_id: UUID, creator: str) -> OrderChain:
    """Cancel the chain's notification and every reminder not yet processed; returns the chain as it is now.

    Raises ChainNotFound (unknown, another creator's, an instant order's) and ConflictError (409).
    """
    now = timezone.now()
    with transaction.atomic():
        # Locked in id order, so two cancels of one chain (or a cancel and a claim) cannot deadlock; the
        # pipeline's claim skips locked rows and finds them Cancelled afterwards.
        orders = list(
            Order.objects.select_for_update()
            .filter(chain_id=chain_id, chain__creator=creator, chain__type=OrderChain.Type.NOTIFICATION)
            .order_by("id")
            .only("id", "type", "status", "requested_send_time")
        )
        main = next((order for order in orders if order.type == OrderType.NOTIFICATION), None)
        if main is None:
            raise ChainNotFound("No order chain with this id was found.")
        cancelled: list[UUID] = []
        if main.status != OrderStatus.CANCELLED:
            if main.status != OrderStatus.REGISTERED or main.requested_send_time <= now + CANCEL_MARGIN:
                raise ConflictError(MSG_CHAIN_NOT_CANCELLABLE)
            cancelled = _cancel([order.id for order in orders], now=now)
        else:
            # Cancelled before (or by staff): reminders registered since stay as they are; cancel them too.
            cancelled = _cancel([order.id for order in orders if order.type == OrderType.REMINDER], now=now)
    if cancelled:
        logger.info(
            "order chain %s cancelled: %d shipment(s)",
            chain_id,
            len(cancelled),
            extra={"order_id": str(main.id), "creator": creator},
        )
    chain = order_chain_get(chain_id=chain_id, creator=creator)
    assert chain is not None
    return chain


def chain_reminder_cancel(*, chain_id: UUID, shipment_id: UUID, creator: str) -> OrderChain:
    """Cancel one reminder of the chain; returns the chain as it is now.

    Raises ChainNotFound, ReminderNotFound (not a reminder of this chain) and ConflictError (409).
    """
    now = timezone.now()
    with transaction.atomic():
        chain_exists = OrderChain.objects.filter(
            id=chain_id, creator=creator, type=OrderChain.Type.NOTIFICATION
        ).exists()
        if not chain_exists:
            raise ChainNotFound("No order chain with this id was found.")
        reminder = (
            Order.objects.select_for_update()
            .filter(id=shipment_id, chain_id=chain_id, type=OrderType.REMINDER)
            .only("id", "status")
            .first()
        )
        if reminder is None:
            raise ReminderNotFound("The chain has no reminder with this shipment id.")
        cancelled = _cancel([reminder.id], now=now)
        if not cancelled and reminder.status != OrderStatus.CANCELLED:
            raise ConflictError(MSG_REMINDER_NOT_CANCELLABLE)
    if cancelled:
        logger.info(
            "reminder %s of order chain %s cancelled",
            shipment_id,
            chain_id,
            extra={"order_id": str(shipment_id), "creator": creator},
        )
    chain = order_chain_get(chain_id=chain_id, creator=creator)
    assert chain is not None
    return chain
