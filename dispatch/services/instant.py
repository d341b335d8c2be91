"""Instant orders, ``POST /future/orders/instant/*``: one message sent while the client waits.

``orders.instant`` stores the order (or finds the earlier request's receipt); this module sends its one
notification and then has the order kept (201 with the receipt) or deleted again (503 NOT-00004).

The notification arrives already claimed (``Sending``, attempt 1). It goes through the provider the
batch sender would choose (for SMS, the weighted failover choice) and is recorded by the batch sender's
own code (``_send_batch``: the conditional status update, the ``DeliveryAttempt`` row, the provider
pause on throttling, the completion check), so an instant message is tracked exactly like every other
one. Called with no transaction open.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.utils import timezone

from dispatch.models import Channel
from dispatch.services.sending.claim import Claimed, claimed_message, provider_paused_until
from dispatch.services.sending.send import _choose, _send_batch
from orders.chains import ChainReceipt
from orders.instant import (
    InstantEmail,
    InstantSendFailed,
    InstantSms,
    instant_order_accept,
    instant_order_discard,
    instant_order_register,
)
from orders.models import EmailNotification, SmsNotification

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class InstantSendResult:
    """What the provider made of the one message."""

    accepted: bool
    status: str  # the notification's status afterwards
    error: str = ""
    # False when the provider refused the message for good: sending it again cannot help.
    retryable: bool = True


def instant_order_send(
    *,
    creator: str,
    idempotency_id: str,
    message: InstantSms | InstantEmail,
    senders_reference: str | None = None,
    raw: dict[str, Any] | None = None,
) -> ChainReceipt:
    """Send one message now and keep it as an instant order; or return the earlier request's receipt.

    Raises InstantSendFailed (503) when the provider does not take the message, InstantOrderInFlight
    (409) while an earlier request with the same idempotencyId is still sending.
    """
    registered = instant_order_register(
        creator=creator,
        idempotency_id=idempotency_id,
        message=message,
        senders_reference=senders_reference,
        raw=raw,
    )
    if isinstance(registered, ChainReceipt):
        return registered
    # A network call: the rows are committed and no transaction is open.
    try:
        result = instant_notification_send(
            channel=registered.channel, notification_id=registered.notification_id
        )
    except Exception:
        logger.exception("instant send failed unexpectedly", extra={"order_id": str(registered.order.id)})
        result = InstantSendResult(accepted=False, status="Failed", error="internal error")
    if not result.accepted:
        instant_order_discard(registered)
        logger.warning(
            "instant %s not sent (%s: %s); answered 503",
            registered.channel,
            result.status,
            result.error,
            extra={"order_id": str(registered.order.id), "creator": creator},
        )
        raise InstantSendFailed(_failure_detail(registered.channel, result))
    return instant_order_accept(registered)


def _failure_detail(channel: str, result: InstantSendResult) -> str:
    kind = "email" if channel == Channel.EMAIL else "SMS"
    if result.retryable:
        return (
            f"The {kind} could not be sent now ({result.error or result.status}); nothing was kept. "
            "Try again with the same idempotencyId."
        )
    return (
        f"The {kind} provider refused the message ({result.status}: {result.error}); nothing was kept. "
        "Sending it again will fail the same way."
    )


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
        message=claimed_message(row),
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
