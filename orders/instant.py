"""Instant orders (``POST /future/orders/instant/sms|email``): one message, sent while the client waits.

1. A chain the creator already registered with this ``idempotencyId`` (instant orders are their own
   namespace) is answered with its receipt (200). One still being sent is a 409 with Retry-After; one
   whose request died mid-send (older than the in-flight lease) is answered with its receipt, because
   its notification is in the pipeline's hands by then (the stuck-send sweep releases it).
2. One transaction stores the chain (no receipt yet), an order of type ``Instant`` in ``Processed``
   (sending time policy Anytime, send time now) and its one notification already claimed (``Sending``,
   attempt 1), so the pipeline never sends it twice and the send is recorded like any other.
3. After commit, outside any transaction, the pipeline sends it (``dispatch.services.instant``, which
   drives these steps: this module owns the order, the pipeline the sending).
4. Accepted: the receipt is stored and returned (201); delivery reports and completion follow as for
   every notification. Anything else: the order is deleted again, so a retry with the same idempotencyId
   sends anew, as the reference stores nothing on failure; the delivery attempt stays in the attempt log
   (it refers to the notification by id, without a foreign key). The answer is 503 NOT-00004.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.problems import ConflictError
from orders.chains import ChainReceipt, TemporaryFailure, chain_receipt_body, order_chain_insert
from orders.idempotency import IN_FLIGHT_LEASE, RETRY_AFTER_SECONDS
from orders.models import (
    EmailNotification,
    EmailStatus,
    NotificationChannel,
    Order,
    OrderChain,
    OrderStatus,
    OrderType,
    SendingTimePolicy,
    SmsNotification,
    SmsStatus,
)
from orders.services import RecipientData, order_insert
from orders.warnings import TemplatePaths, order_warnings
from templates.models import EmailTemplate, SmsTemplate
from templates.records import EmailTemplateData, SmsTemplateData
from templates.sms import sms_part_count
from templates.warnings import ContentWarning

logger = logging.getLogger(__name__)

# An instant email may wait as long as any other email (reference: created + 48 h).
EMAIL_TIME_TO_LIVE = timedelta(hours=48)


@dataclass(frozen=True)
class InstantSms:
    phone_number: str
    time_to_live_seconds: int
    template: SmsTemplateData


@dataclass(frozen=True)
class InstantEmail:
    email_address: str
    template: EmailTemplateData


@dataclass(frozen=True)
class InstantOrder:
    """A stored instant order whose one notification is claimed (Sending) and waits to be sent."""

    chain_id: UUID
    order: Order
    notification_id: UUID
    creator: str
    warnings: tuple[ContentWarning, ...] = ()

    @property
    def channel(self) -> str:
        return self.order.notification_channel


class InstantOrderInFlight(ConflictError):
    title = "A request with this idempotencyId is still being processed"
    retry_after = RETRY_AFTER_SECONDS


class InstantSendFailed(TemporaryFailure):
    """The provider did not take the message; nothing is kept but the attempt's log row."""


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
    chain = order_chain_insert(
        creator=creator, idempotency_id=idempotency_id, chain_type=OrderChain.Type.INSTANT, raw=raw, now=now
    )
    sms = message if isinstance(message, InstantSms) else None
    email = message if isinstance(message, InstantEmail) else None
    order = order_insert(
        creator=creator,
        notification_channel=NotificationChannel.SMS if sms else NotificationChannel.EMAIL,
        recipients=[
            RecipientData(mobile_number=sms.phone_number)
            if sms
            else RecipientData(email_address=email.email_address if email else None)
        ],
        requested_send_time=now,
        now=now,
        lookup=None,
        senders_reference=senders_reference,
        sms_template=sms.template if sms else None,
        email_template=email.template if email else None,
        sending_time_policy=SendingTimePolicy.ANYTIME,
        order_type=OrderType.INSTANT,
        chain=chain,
        status=OrderStatus.PROCESSED,
    )
    # The notification is born claimed: the batch sender only takes New rows, so it never sends it too.
    # The lease is renewed while the request sends it; if the web process dies, the sweep takes it back.
    claimed: dict[str, Any] = {
        "order": order,
        "recipient_position": 0,
        "status_changed_at": now,
        "claimed_at": now,
        "claim_id": uuid4(),
        "lease_until": now + timedelta(seconds=settings.NOTIFICATIONS_SEND_LEASE_SECONDS),
        "attempts": 1,
    }
    if sms is not None:
        notification_id = SmsNotification.objects.create(
            mobile_number=sms.phone_number,
            status=SmsStatus.SENDING,
            sending_time_policy=SendingTimePolicy.ANYTIME,
            parts=sms_part_count(sms.template.body),
            expires_at=now + timedelta(seconds=sms.time_to_live_seconds),
            **claimed,
        ).id
    else:
        assert email is not None
        notification_id = EmailNotification.objects.create(
            to_address=email.email_address,
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


def instant_warnings(message: InstantSms | InstantEmail) -> list[ContentWarning]:
    """The receipt's content warnings: the recipient is an address, so keywords stay as written."""
    if isinstance(message, InstantSms):
        recipient = RecipientData(mobile_number=message.phone_number)
        paths = TemplatePaths(sms_body="recipientSms.smsSettings.body")
        return order_warnings(
            recipients=[recipient],
            lookup=None,
            sms_template=message.template,
            email_template=None,
            paths=paths,
        )
    paths = TemplatePaths(
        email_subject="recipientEmail.emailSettings.subject", email_body="recipientEmail.emailSettings.body"
    )
    return order_warnings(
        recipients=[RecipientData(email_address=message.email_address)],
        lookup=None,
        sms_template=None,
        email_template=message.template,
        paths=paths,
    )


def instant_order_register(
    *,
    creator: str,
    idempotency_id: str,
    message: InstantSms | InstantEmail,
    senders_reference: str | None = None,
    raw: dict[str, Any] | None = None,
) -> ChainReceipt | InstantOrder:
    """The earlier request's receipt, or the new instant order with its notification claimed for sending.

    Commits before it returns, so the caller can send with no transaction open. Raises
    InstantOrderInFlight (409) while an earlier request with the same idempotencyId is still sending.
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
            return InstantOrder(
                chain_id=chain.id,
                order=order,
                notification_id=notification_id,
                creator=creator,
                warnings=tuple(instant_warnings(message)),
            )
        except IntegrityError:
            continue  # a concurrent request with this idempotencyId stored its chain first
    raise InstantOrderInFlight("The idempotencyId is contended; retry shortly.")


def instant_order_accept(pending: InstantOrder) -> ChainReceipt:
    """The provider took the message: store the receipt (a repeat is answered with it) and return it."""
    body = chain_receipt_body(pending.chain_id, pending.order, warnings=pending.warnings)
    OrderChain.objects.filter(id=pending.chain_id, receipt__isnull=True).update(receipt=body)
    logger.info(
        "instant %s sent",
        pending.channel,
        extra={"order_id": str(pending.order.id), "creator": pending.creator},
    )
    return ChainReceipt(chain_id=pending.chain_id, body=body, created=True)


def instant_order_discard(pending: InstantOrder) -> None:
    """The message was not sent: delete the order, so a retry with the same idempotencyId sends anew."""
    _discard(pending.chain_id)
