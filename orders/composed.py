"""Composed emails (``POST /future/orders/composed-email``): one email to one address, with attachments.

A composed email is an order chain of its own type (``Composed``, its own idempotency namespace) with one
order of type ``Composed``: no contact lookup, no reminders, no keyword substitution. The attachments are
stored as references (name, type, HTTPS link) and fetched by the sender when the email goes out
(``dispatch.providers.attachments``), so nothing is downloaded here and the request makes no network call.

1. A chain the creator already registered with this ``idempotencyId`` is answered with its receipt (200).
2. One transaction: the chain, the order with its template, recipient and attachments, the receipt. A
   concurrent duplicate loses on the unique (creator, idempotencyId, type) and gets the winner's receipt.
3. After commit, an order already due is handed to the pipeline.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from orders.chains import ChainReceipt, chain_receipt_body, order_chain_insert
from orders.models import EmailAttachment, NotificationChannel, OrderChain, OrderType, SendingTimePolicy
from orders.services import RecipientData, order_enqueue_if_due, order_insert
from templates.records import EmailTemplateData

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AttachmentData:
    filename: str
    mime_type: str
    url: str


@dataclass(frozen=True)
class ComposedEmailRequest:
    idempotency_id: str
    email_address: str
    email: EmailTemplateData
    attachments: Sequence[AttachmentData] = ()
    senders_reference: str | None = None
    condition_endpoint: str | None = None
    requested_send_time: datetime | None = None
    # The request body as the client sent it, kept on the chain.
    raw: dict[str, Any] = field(default_factory=dict)


def _replay(creator: str, idempotency_id: str) -> ChainReceipt | None:
    chain = (
        OrderChain.objects.filter(
            creator=creator, idempotency_id=idempotency_id, type=OrderChain.Type.COMPOSED
        )
        .only("id", "receipt")
        .first()
    )
    if chain is None or chain.receipt is None:
        return None
    return ChainReceipt(chain_id=chain.id, body=chain.receipt, created=False)


def composed_email_create(*, creator: str, request: ComposedEmailRequest) -> ChainReceipt:
    """Register a composed email, or return the receipt of the one registered with this idempotencyId."""
    replay = _replay(creator, request.idempotency_id)
    if replay is not None:
        return replay
    now = timezone.now()
    try:
        with transaction.atomic():
            chain = order_chain_insert(
                creator=creator,
                idempotency_id=request.idempotency_id,
                chain_type=OrderChain.Type.COMPOSED,
                raw=request.raw,
                now=now,
            )
            order = order_insert(
                creator=creator,
                notification_channel=NotificationChannel.EMAIL,
                recipients=[RecipientData(email_address=request.email_address)],
                requested_send_time=request.requested_send_time or now,
                now=now,
                lookup=None,
                senders_reference=request.senders_reference,
                condition_endpoint=request.condition_endpoint,
                email_template=request.email,
                sending_time_policy=SendingTimePolicy.ANYTIME,
                order_type=OrderType.COMPOSED,
                chain=chain,
            )
            EmailAttachment.objects.bulk_create(
                EmailAttachment(
                    order=order,
                    position=position,
                    filename=attachment.filename,
                    mime_type=attachment.mime_type,
                    url=attachment.url,
                )
                for position, attachment in enumerate(request.attachments)
            )
            order_enqueue_if_due(order, now=now)
            chain.receipt = chain_receipt_body(chain.id, order)
            chain.save(update_fields=["receipt"])
    except IntegrityError:
        # A concurrent request with the same idempotencyId committed first; it is the one that counts.
        replay = _replay(creator, request.idempotency_id)
        if replay is None:
            raise
        return replay
    logger.info(
        "composed email %s registered with %d attachment(s)",
        chain.id,
        len(request.attachments),
        extra={"order_id": str(order.id), "creator": creator},
    )
    return ChainReceipt(chain_id=chain.id, body=chain.receipt, created=True)
