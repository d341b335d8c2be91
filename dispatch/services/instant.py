"""Sending one instant notification now, for ``POST /future/orders/instant/*`` (see ``orders.instant``).

The notification arrives already claimed (``Sending``, attempt 1). It goes through the channel's
configured provider and is recorded by the batch sender's own code (``_send_batch``: the conditional
status update, the ``DeliveryAttempt`` row, the provider pause on throttling, the completion check), so
an instant message is tracked exactly like every other one. Called with no transaction open.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from django.utils import timezone

from dispatch.models import Channel
from dispatch.providers import email_provider, sms_provider
from dispatch.providers.base import Provider
from dispatch.services.sending import Claimed, _message, _send_batch, provider_paused_until
from orders.instant import InstantSendResult
from orders.models import EmailNotification, SmsNotification

logger = logging.getLogger(__name__)


def instant_notification_send(*, channel: str, notification_id: UUID) -> InstantSendResult:
    """Send the claimed notification through the channel's provider and record the outcome."""
    model: type[EmailNotification] | type[SmsNotification]
    provider: Provider[Any]
    if channel == Channel.EMAIL:
        model, template, provider = EmailNotification, "order__email_template", email_provider()
    else:
        model, template, provider = SmsNotification, "order__sms_template", sms_provider()
    row = model.objects.select_related(template).get(id=notification_id, status="Sending")
    paused = provider_paused_until(key=provider.pause_key, now=timezone.now())
    if paused is not None:
        # The provider asked us to back off (or is down): a synchronous send must not hammer it either.
        return InstantSendResult(
            accepted=False, status=row.status, error=f"the provider is paused until {paused.isoformat()}"
        )
    assert row.claimed_at is not None
    claimed = Claimed(
        message=_message(row, attempt=row.attempts),
        order_id=row.order_id,
        attempts=row.attempts,
        claimed_at=row.claimed_at,
    )
    try:
        summary = _send_batch(provider=provider, channel=channel, claimed=[claimed])
    finally:
        provider.after_batch()
    after = model.objects.filter(id=notification_id).values_list("status", "last_error").first()
    status, error = after if after is not None else ("Failed", "")
    return InstantSendResult(
        accepted=summary.accepted == 1, status=status, error=error, retryable=summary.failed == 0
    )
