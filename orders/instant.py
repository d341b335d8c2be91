"""Instant orders (``POST /future/orders/instant/sms|email``): one message, sent while the client waits.

1. A chain the creator already registered with this ``idempotencyId`` (instant orders are their own
   namespace) is answered with its receipt (200). One still being sent is a 409 with Retry-After; one
   whose request died mid-send (older than the in-flight lease) is answered with its receipt, because
   its notification is in the pipeline's hands by then (the stuck-send sweep releases it).
2. One transaction stores the chain (no receipt yet), an order of type ``Instant`` in ``Processed``
   (sending time policy Anytime, send time now) and its one notification already claimed (``Sending``,
   attempt 1), so the pipeline never sends it twice and the send is recorded like any other.
3. After commit, outside any transaction, the configured sender (``NOTIFICATIONS_INSTANT_SENDER``: the
   pipeline's provider of the channel and its recording of attempt and result) sends it.
4. Accepted: the receipt is stored and returned (201); delivery reports and completion follow as for
   every notification. Anything else: the order is deleted again, so a retry with the same idempotencyId
   sends anew, as the reference stores nothing on failure; the delivery attempt stays in the attempt log
   (it refers to the notification by id, without a foreign key). The answer is 503 NOT-00004.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol
from uuid import UUID, uuid4

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from core.problems import ConflictError
from orders.chains import ChainReceipt, TemporaryFailure, chain_receipt_body, storable_request
from orders.idempotency import IN_FLIGHT_LEASE, RETRY_AFTER_SECONDS
from orders.models import (
    EmailNotification,
    EmailStatus,
    NotificationChannel,
    Order,
    OrderChain,
    OrderStatus,
    OrderType,
    Recipient,
    SendingTimePolicy,
    SmsNotification,
    SmsStatus,
)
from templates.models import EmailTemplate, SmsTemplate
from templates.sms import sms_part_count

logger = logging.getLogger(__name__)

# An instant email may wait as long as any other email (reference: created + 48 h).
EMAIL_TIME_TO_LIVE = timedelta(hours=48)


@dataclass(frozen=True)
class InstantSms:
    phone_number: str
    body: str
    time_to_live_seconds: int
    sender: str | None = None


@dataclass(frozen=True)
class InstantEmail:
    email_address: str
    subject: str
    body: str
    content_type: str = "Plain"
    sender: str | None = None


@dataclass(frozen=True)
class InstantSendResult:
    """What the sender made of the one message."""

    accepted: bool
    status: str  # the notification's status afterwards
    error: str = ""
    # False when the provider refused the message for good: sending it again cannot help.
    retryable: bool = True


class InstantSender(Protocol):
    def __call__(self, *, channel: str, notification_id: UUID) -> InstantSendResult:
        """Send the claimed (Sending) notification now and record the attempt; never raise for a refusal."""
        ...


class InstantOrderInFlight(ConflictError):
    title = "A request with this idempotencyId is still being processed"
    retry_after = RETRY_AFTER_SECONDS


class InstantSendFailed(TemporaryFailure):
    """The provider did not take the message; nothing is kept but the attempt's log row."""


def get_instant_sender() -> InstantSender:
    sender: InstantSender = import_string(settings.NOTIFICATIONS_INSTANT_SENDER)
    return sender


def _existing(creator: str, idempotency_id: str) -> ChainReceipt | None:
    """The earlier request's receipt; raises InstantOrderInFlight while that request is still sending."""
    chain = (
        OrderChain.objects.filter(
            creator=creator, idempotency_id=idempotency_id, type=OrderChain.Type.INSTANT
        )
        .only("id", "receipt", "created_at")
        .first()
    )
    if chain is None:
        return None
    if chain.receipt is not None:
        return ChainReceipt(chain_id=chain.id, body=chain.receipt, created=False)
    if chain.created_at > timezone.now() - IN_FLIGHT_LEASE:
        raise InstantOrderInFlight(
            "The first request with this idempotencyId has not finished sending yet; retry shortly."
        )
    # The request that stored it died while sending; its notification belongs to the pipeline now.
    order = Order.objects.select_related("sms_template").filter(chain_id=chain.id).first()
    if order is None:
        return None  # deleted after a failed send meanwhile
    body = chain_receipt_body(chain.id, order)
    OrderChain.objects.filter(id=chain.id, receipt__isnull=True).update(receipt=body)
    logger.warning("instant order %s was left mid-send; answered from the pipeline's state", order.id)
    return ChainReceipt(chain_id=chain.id, body=body, created=False)


def _insert(
    *,
    creator: str,
    idempotency_id: str,
    senders_reference: str | None,
    message: InstantSms | InstantEmail,
    raw: dict[str, Any],
) -> tuple[OrderChain, Order, UUID]:
    now = timezone.now()
    if senders_reference is not None and not senders_reference.strip():
        senders_reference = None
    chain = OrderChain.objects.create(
        creator=creator,
        idempotency_id=idempotency_id,
        type=OrderChain.Type.INSTANT,
        request=storable_request(raw),
        created_at=now,
    )
    common: dict[str, Any] = {
        "creator": creator,
        "type": OrderType.INSTANT,
        "chain": chain,
        "senders_reference": senders_reference,
        "requested_send_time": now,
        "sending_time_policy": SendingTimePolicy.ANYTIME,
        "status": OrderStatus.PROCESSED,
        "status_changed_at": now,
    }
    # The notification is born claimed: the batch sender only takes New rows, so it never sends it too.
    # The lease is renewed while the request sends it; if the web process dies, the sweep takes it back.
    claimed: dict[str, Any] = {
        "recipient_position": 0,
        "status_changed_at": now,
        "claimed_at": now,
        "claim_id": uuid4(),
        "lease_until": now + timedelta(seconds=settings.NOTIFICATIONS_SEND_LEASE_SECONDS),
        "attempts": 1,
    }
    if isinstance(message, InstantSms):
        template = SmsTemplate.objects.create(
            sender_number=message.sender or settings.NOTIFICATIONS_DEFAULT_SMS_SENDER, body=message.body
        )
        order = Order.objects.create(
            notification_channel=NotificationChannel.SMS, sms_template=template, **common
        )
        Recipient.objects.create(order=order, position=0, mobile_number=message.phone_number)
        notification_id = SmsNotification.objects.create(
            order=order,
            mobile_number=message.phone_number,
            status=SmsStatus.SENDING,
            sending_time_policy=SendingTimePolicy.ANYTIME,
            parts=sms_part_count(message.body),
            expires_at=now + timedelta(seconds=message.time_to_live_seconds),
            **claimed,
        ).id
    else:
        email_template = EmailTemplate.objects.create(
            from_address=message.sender or settings.NOTIFICATIONS_DEFAULT_EMAIL_FROM,
            subject=message.subject,
            body=message.body,
            content_type=message.content_type,
        )
        order = Order.objects.create(
            notification_channel=NotificationChannel.EMAIL, email_template=email_template, **common
        )
        Recipient.objects.create(order=order, position=0, email_address=message.email_address)
        notification_id = EmailNotification.objects.create(
            order=order,
            to_address=message.email_address,
            status=EmailStatus.SENDING,
            expires_at=now + EMAIL_TIME_TO_LIVE,
            **claimed,
        ).id
    return chain, order, notification_id


def _discard(chain_id: UUID) -> None:
    """Delete a chain whose send failed, with its order, notification and templates."""
    with transaction.atomic():
        orders = list(
            Order.objects.filter(chain_id=chain_id).values_list("id", "email_template_id", "sms_template_id")
        )
        OrderChain.objects.filter(id=chain_id).delete()  # cascades to the order and what hangs off it
        EmailTemplate.objects.filter(id__in=[email for _, email, _ in orders if email is not None]).delete()
        SmsTemplate.objects.filter(id__in=[sms for _, _, sms in orders if sms is not None]).delete()


def _failure_detail(channel: str, result: InstantSendResult) -> str:
    kind = "email" if channel == NotificationChannel.EMAIL else "SMS"
    if result.retryable:
        return (
            f"The {kind} could not be sent now ({result.error or result.status}); nothing was kept. "
            "Try again with the same idempotencyId."
        )
    return (
        f"The {kind} provider refused the message ({result.status}: {result.error}); nothing was kept. "
        "Sending it again will fail the same way."
    )


def instant_order_create(
    *,
    creator: str,
    idempotency_id: str,
    message: InstantSms | InstantEmail,
    senders_reference: str | None = None,
    raw: dict[str, Any] | None = None,
    sender: InstantSender | None = None,
) -> ChainReceipt:
    """Send one message now and keep it as an instant order; or return the earlier request's receipt.

    Raises InstantSendFailed (503) when the provider does not take the message, InstantOrderInFlight
    (409) while an earlier request with the same idempotencyId is still sending.
    """
    for _ in range(3):  # a failed concurrent request may delete its chain between our two steps
        existing = _existing(creator, idempotency_id)
        if existing is not None:
            return existing
        try:
            with transaction.atomic():
                chain, order, notification_id = _insert(
                    creator=creator,
                    idempotency_id=idempotency_id,
                    senders_reference=senders_reference,
                    message=message,
                    raw=raw or {},
                )
            break
        except IntegrityError:
            continue  # a concurrent request with this idempotencyId stored its chain first
    else:
        raise InstantOrderInFlight("The idempotencyId is contended; retry shortly.")

    channel = order.notification_channel
    # A network call: the rows are committed and no transaction is open.
    try:
        result = (sender or get_instant_sender())(channel=channel, notification_id=notification_id)
    except Exception:
        logger.exception("instant send failed unexpectedly", extra={"order_id": str(order.id)})
        result = InstantSendResult(accepted=False, status="Failed", error="internal error")
    if not result.accepted:
        _discard(chain.id)
        logger.warning(
            "instant %s not sent (%s: %s); answered 503",
            channel,
            result.status,
            result.error,
            extra={"order_id": str(order.id), "creator": creator},
        )
        raise InstantSendFailed(_failure_detail(channel, result))
    body = chain_receipt_body(chain.id, order)
    OrderChain.objects.filter(id=chain.id, receipt__isnull=True).update(receipt=body)
    logger.info("instant %s sent", channel, extra={"order_id": str(order.id), "creator": creator})
    return ChainReceipt(chain_id=chain.id, body=body, created=True)
