"""Celery entry points for sending, SMS provider health and delivery reports; each calls one service.

All are safe to run twice or concurrently: claims use SKIP LOCKED and every status change is a
conditional UPDATE, so a redelivered message (``acks_late``) or an overlapping beat run does no harm.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.conf import settings

from dispatch.services.failover import sms_providers, sms_providers_health_evaluate
from dispatch.services.reports import delivery_reports_retry, sandbox_reports_deliver
from dispatch.services.sending import notifications_release_stuck, notifications_send

logger = logging.getLogger(__name__)


@shared_task(
    name="dispatch.notifications_send", acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def notifications_send_task(channel: str | None = None, **hints: Any) -> dict[str, int]:
    """Send New notifications in batches on one channel ("Email" / "Sms") or both.

    Producers enqueue this by name after committing new rows; extra keyword hints (an order id) are
    accepted and ignored, because the claim finds the rows by status, not by message.
    """
    summary = notifications_send(channel=channel)
    if summary.accepted and "sandbox" in (
        settings.NOTIFICATIONS_EMAIL_PROVIDER,
        *(name for name, _ in sms_providers()),
    ):
        # The sandbox's reports fall due seconds after the send; do not wait for the next beat tick.
        # Only a shortcut: with the broker down the beat sweep delivers them, so the send run still succeeds.
        try:
            sandbox_reports_deliver_task.apply_async(
                countdown=settings.NOTIFICATIONS_SANDBOX_REPORT_DELAY_SECONDS + 0.5, expires=60
            )
        except Exception:  # any broker failure; the sends are already recorded
            logger.warning("could not enqueue the sandbox report run; the beat sweep will deliver them")
    return {
        "claimed": summary.claimed,
        "accepted": summary.accepted,
        "failed": summary.failed,
        "retried": summary.retried,
        "released": summary.released,
    }


@shared_task(name="dispatch.notifications_release_stuck", acks_late=True, ignore_result=True)
def notifications_release_stuck_task() -> int:
    """Return notifications stuck in Sending (their worker died) to New."""
    return notifications_release_stuck()


@shared_task(name="dispatch.delivery_reports_retry", acks_late=True, ignore_result=True)
def delivery_reports_retry_task() -> int:
    """Apply delivery reports that could not be matched yet."""
    return delivery_reports_retry()


@shared_task(name="dispatch.sandbox_reports_deliver", acks_late=True, ignore_result=True)
def sandbox_reports_deliver_task() -> int:
    """Deliver the sandbox provider's due delivery reports."""
    return sandbox_reports_deliver()


@shared_task(name="dispatch.sms_providers_health", ignore_result=True)
def sms_providers_health_task() -> int:
    """Judge the SMS providers' health (failover); returns the number of switches."""
    return len(sms_providers_health_evaluate())
