"""Celery entry points of status callbacks; each calls one service."""

from __future__ import annotations

from celery import shared_task

from dispatch.services.callback_outbox import callbacks_purge
from dispatch.services.callback_posting import callbacks_deliver


@shared_task(name="dispatch.callbacks_deliver", acks_late=True, ignore_result=True)
def callbacks_deliver_task() -> dict[str, int]:
    """POST due status callbacks (after a commit that wrote some, and every sweep); safe to overlap."""
    summary = callbacks_deliver()
    return {
        "claimed": summary.claimed,
        "delivered": summary.delivered,
        "retried": summary.retried,
        "failed": summary.failed,
    }


@shared_task(name="dispatch.callbacks_purge", ignore_result=True)
def callbacks_purge_task() -> int:
    """Delete finished callbacks past NOTIFICATIONS_CALLBACK_RETENTION_DAYS (hourly)."""
    return callbacks_purge()
