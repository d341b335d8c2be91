"""Celery entry points of order processing and its sweeps; each calls one service."""

from __future__ import annotations

import logging
import uuid

from celery import shared_task

from dispatch.services.completion import orders_complete
from dispatch.services.expiry import notifications_expire
from dispatch.services.processing import order_process_if_due, orders_process_due

logger = logging.getLogger(__name__)


@shared_task(name="dispatch.order_process")
def order_process_task(order_id: str) -> None:
    """Process one order now if it is due (the fast path after registration); duplicates are harmless."""
    try:
        order_id_value = uuid.UUID(str(order_id))
    except ValueError:
        logger.warning("no order %s to process", order_id)
        return
    # An unknown id claims nothing, as an order that is not due or already taken.
    order_process_if_due(order_id=order_id_value)


@shared_task(name="dispatch.orders_process_due")
def orders_process_due_task() -> None:
    """Beat sweep: process orders whose send time or retry time has come."""
    orders_process_due()


@shared_task(name="dispatch.notifications_expire")
def notifications_expire_task() -> None:
    """Beat sweep: notifications still pending after their expiry become Failed_TTL."""
    notifications_expire()


@shared_task(name="dispatch.orders_complete")
def orders_complete_task() -> None:
    """Beat sweep: Processed orders whose notifications are all final become Completed."""
    orders_complete()
