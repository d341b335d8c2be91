"""Celery entry points of housekeeping sweeps (beat runs them hourly); each calls one service.

Both deletes are idempotent and bounded by their cut-off time, so an overlapping or repeated run does no
harm. Neither is reachable over HTTP: beat (or an operator with shell access) starts them.
"""

from __future__ import annotations

from celery import shared_task

from dispatch.services.retention import notification_content_purge
from orders.idempotency import idempotency_keys_purge


@shared_task(name="dispatch.idempotency_keys_purge", ignore_result=True)
def idempotency_keys_purge_task() -> int:
    """Delete Idempotency-Keys past NOTIFICATIONS_IDEMPOTENCY_RETENTION_HOURS."""
    return idempotency_keys_purge()


@shared_task(name="dispatch.notification_content_purge", ignore_result=True)
def notification_content_purge_task() -> int:
    """Purge the content of orders final for more than NOTIFICATIONS_RETENTION_DAYS (statuses stay)."""
    return notification_content_purge().orders
