"""Sending one instant notification now, for ``POST /future/orders/instant/*`` (see ``orders.instant``).

The notification arrives already claimed (``Sending``, attempt 1). It goes through the provider the
batch sender would choose (for SMS, the weighted failover choice) and is recorded by the batch sender's
own code (``_send_batch``: the conditional status update, the ``DeliveryAttempt`` row, the provider
pause on throttling, the completion check), so an instant message is tracked exactly like every other
one. Called with no transaction open.
"""

from __future__ import annotations

import logging
from uuid import UUID

from django.utils import timezone

from dispatch.models import Channel
from dispatch.services.sending.claim import Claimed, _message, provider_paused_until
from dispatch.services.sending.send import _choose, _send_batch
from orders.instant import InstantSendResult
from orders.models import EmailNotification, SmsNotification

logger = logging.getLogger(__name__)


def instant_notification_send(*, channel: str, notification_id: UUID) -> InstantSendResult:
    """Send the claimed notification through the channel's provider and record the outcome."""
    model: type[EmailNotification] | type[SmsNotification]
    if channel == Channel.EMAIL:
        model, template = EmailNotification, "order__email_template"
    else:
        model, template = SmsNotification, "order__sms_template"
    row = model.objects.select_related(template).get(id=notification_id, status="Sending")
    # The batch sender's choice: for SMS the weighted failover among healthy, unpaused providers.
    chosen = _choose(channel)
    paused = None
    if chosen is not None:
        paused = provider_paused_until(key=chosen[0].pause_key, now=timezone.now())
    if chosen is None or paused is not None:
        # Throttled or unreachable: a synchronous send must not hammer the provider either.
        until = f" until {paused.isoformat()}" if paused else ""
        return InstantSendResult(
            accepted=False, status=row.status, error=f"the {channel} provider is paused{until}"
        )
    provider = chosen[0]
    assert row.claimed_at is not None
    assert row.claim_id is not None
    claimed = Claimed(
        message=_message(row, attempt=row.attempts),
        order_id=row.order_id,
        attempts=row.attempts,
        claimed_at=row.claimed_at,
        claim_id=row.claim_id,
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
