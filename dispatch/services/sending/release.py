"""Releasing stuck sends: claims whose worker stopped go back to New (or Failed when out of budget)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from dispatch.models import AttemptOutcome, Channel, DeliveryAttempt
from dispatch.services.callback_outbox import callbacks_record_notifications
from dispatch.services.sending.claim import _model
from dispatch.services.sending.record import orders_check_completion

logger = logging.getLogger(__name__)


def notifications_release_stuck(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Return notifications left in Sending by a dead worker to New (or Failed when out of budget).

    A claim is given up once its lease has run out (its worker stopped renewing it), or in any case
    ``NOTIFICATIONS_SEND_STUCK_AFTER_SECONDS`` after it was made (a worker hung in a provider call, or a
    claim without a lease). Each row is released only while it still carries the claim that was found
    expired, so a renewal that got there first wins.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.NOTIFICATIONS_SEND_STUCK_AFTER_SECONDS)
    released = 0
    for channel in (Channel.EMAIL, Channel.SMS):
        model = _model(channel)
        finished: set[uuid.UUID] = set()
        failed: list[uuid.UUID] = []
        with transaction.atomic():
            rows = list(
                model.objects.select_for_update(skip_locked=True)
                .filter(status="Sending")
                .filter(Q(lease_until__lt=now) | Q(claimed_at__lt=cutoff))
                .order_by("claimed_at")
                .values("id", "order_id", "attempts", "claimed_at", "claim_id", "provider")[:limit]
            )
            attempts: list[DeliveryAttempt] = []
            for row in rows:
                out_of_budget = row["attempts"] >= settings.NOTIFICATIONS_SEND_MAX_ATTEMPTS
                status = "Failed" if out_of_budget else "New"
                error = "the worker sending it stopped; the result is unknown"
                model.objects.filter(id=row["id"], status="Sending", claim_id=row["claim_id"]).update(
                    status=status,
                    status_changed_at=now,
                    claimed_at=None,
                    claim_id=None,
                    lease_until=None,
                    not_before=None,
                    last_error=f"gave up after {row['attempts']} attempts: {error}"
                    if out_of_budget
                    else error,
                )
                if out_of_budget:
                    finished.add(row["order_id"])
                    failed.append(row["id"])
                attempts.append(
                    DeliveryAttempt(
                        channel=channel,
                        notification_id=row["id"],
                        order_id=row["order_id"],
                        attempt=row["attempts"],
                        provider=row["provider"] or "",
                        outcome=AttemptOutcome.LOST,
                        status=status,
                        started_at=row["claimed_at"] or now,
                        error=error,
                    )
                )
            DeliveryAttempt.objects.bulk_create(attempts)
            callbacks_record_notifications(channel=channel, ids=failed)
        released += len(rows)
        if rows:
            logger.warning("returned %d %s notification(s) stuck in Sending", len(rows), channel)
        orders_check_completion(finished)
    return released
