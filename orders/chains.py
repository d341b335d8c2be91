"""Order chains (``POST /future/orders``): a main notification and its reminders, registered together.

Each shipment of a chain, the main notification and every reminder, is an ordinary order with one
recipient, registered through ``order_insert``; a reminder is due at its own time (the main send time
plus ``delayDays``, or its own ``requestedSendTime``) and may have its own condition endpoint, so the
pipeline processes it like any other order when that time comes. The chain row holds the creator's
``idempotencyId`` and the receipt.

1. A chain the creator already registered with this ``idempotencyId`` is answered with its original
   receipt (200), whatever the new body says.
2. Persons, organizations and external identities of every shipment are looked up (one registry call
   per kind for the whole chain), outside any transaction. A recipient without contact information for
   its channel fails the whole request (422 NOT-00001) and nothing is stored; a reserved person does
   not. A registry outage is a 503: the check this API promises cannot be made.
3. One transaction: the chain, its orders and templates and recipients, the receipt. A concurrent
   duplicate loses on the unique (creator, idempotencyId, type) and is answered with the winner's receipt.
4. After commit, the shipments already due are handed to the pipeline.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from core.problems import ApplicationError
from orders.models import ORDER_FINAL_STATUSES, Order, OrderChain, OrderType
from orders.registry import get_registry
from orders.registry.base import (
    ContactRegistry,
    ExternalIdentityContact,
    OrganizationContacts,
    PersonContact,
    RegistryUnavailable,
)
from orders.registry.urns import username_urns
from orders.services import (
    RecipientData,
    order_enqueue_if_due,
    order_insert,
    order_sms_part_count,
    recipient_lookup_summarise,
)
from templates.records import EmailTemplateData, SmsTemplateData

logger = logging.getLogger(__name__)

MSG_NO_CONTACT = "No contact information was found for this recipient for the chosen channel."


class AltinnProblem(ApplicationError):
    """An error with one of the reference's problem codes (``urn:altinn:error:NOT-0000x``)."""

    code = ""
    errors: dict[str, list[str]] | None = None

    @property
    def problem_type(self) -> str:
        return f"urn:altinn:error:{self.code}"


class MissingContactInformation(AltinnProblem):
    status_code = 422
    title = "Missing contact information for recipient(s)"
    code = "NOT-00001"

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("No contact information was found for the recipient(s) listed under errors.")
        self.errors = errors


class TemporaryFailure(AltinnProblem):
    status_code = 503
    title = "A temporary network failure occurred"
    code = "NOT-00004"
    retry_after = 5


@dataclass(frozen=True)
class ShipmentRequest:
    """One order of a chain (the main notification or a reminder), as validated from the request."""

    notification_channel: str
    recipient: RecipientData
    # The JSON path of the recipient's identifier, for the 422's errors.
    identifier_path: str
    sending_time_policy: str
    senders_reference: str | None = None
    condition_endpoint: str | None = None
    requested_send_time: datetime | None = None
    delay_days: int | None = None  # reminders: days after the main notification's send time
    ignore_reservation: bool | None = None
    resource_id: str | None = None
    resource_action: str | None = None
    email_template: EmailTemplateData | None = None
    sms_template: SmsTemplateData | None = None


@dataclass(frozen=True)
class ChainRequest:
    idempotency_id: str
    main: ShipmentRequest
    reminders: Sequence[ShipmentRequest] = ()
    # The request body as the client sent it, kept on the chain.
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChainReceipt:
    chain_id: UUID
    body: dict[str, Any]
    created: bool  # False: the stored receipt of an earlier request with the same idempotencyId


class _Prefetched:
    """A registry answering from one lookup made for the whole chain."""

    def __init__(
        self,
        persons: dict[str, PersonContact],
        organizations: dict[str, OrganizationContacts],
        identities: dict[str, ExternalIdentityContact],
    ) -> None:
        self._persons = persons
        self._organizations = organizations
        self._identities = identities

    def persons(self, national_identity_numbers: Sequence[str]) -> dict[str, PersonContact]:
        return {n: self._persons[n] for n in national_identity_numbers if n in self._persons}

    def organizations(self, organization_numbers: Sequence[str]) -> dict[str, OrganizationContacts]:
        return {n: self._organizations[n] for n in organization_numbers if n in self._organizations}

    def external_identities(self, urns: Sequence[str]) -> dict[str, ExternalIdentityContact]:
        return {u: self._identities[u] for u in urns if u in self._identities}


def _prefetch(shipments: Sequence[ShipmentRequest], registry: ContactRegistry) -> _Prefetched:
    nins = sorted({n for s in shipments if (n := s.recipient.national_identity_number)})
    orgnos = sorted({n for s in shipments if (n := s.recipient.organization_number)})
    usernames = username_urns(s.recipient.external_identity for s in shipments)
    return _Prefetched(
        registry.persons(nins) if nins else {},
        registry.organizations(orgnos) if orgnos else {},
        registry.external_identities(usernames) if usernames else {},
    )


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_request(data: Any) -> Any:
    """The request as JSON PostgreSQL can store: jsonb has no NUL character and UTF-8 no lone surrogate.
    The API's parser already refuses both with a 400; this keeps a caller that bypasses it from a 500."""
    if isinstance(data, str):
        return _UNSTORABLE.sub("\ufffd", data)
    if isinstance(data, dict):
        return {storable_request(key): storable_request(value) for key, value in data.items()}
    if isinstance(data, list):
        return [storable_request(item) for item in data]
    return data


def shipment_receipt(order: Order) -> dict[str, Any]:
    """A shipment as the receipt lists it: id, sender's reference and (SMS) part count; nulls left out."""
    body: dict[str, Any] = {"shipmentId": str(order.id)}
    if order.senders_reference is not None:
        body["sendersReference"] = order.senders_reference
    parts = order_sms_part_count(order)
    if parts is not None:
        body["smsPartCount"] = parts
    return body


def chain_receipt_body(chain_id: UUID, main: Order, reminders: Sequence[Order] = ()) -> dict[str, Any]:
    notification = shipment_receipt(main)
    if reminders:
        notification["reminders"] = [shipment_receipt(order) for order in reminders]
    return {"notificationOrderId": str(chain_id), "notification": notification}


def order_chain_insert(
    *, creator: str, idempotency_id: str, chain_type: str, raw: dict[str, Any], now: datetime
) -> OrderChain:
    """The chain row of a new request (no receipt yet); the unique idempotencyId makes a duplicate fail."""
    return OrderChain.objects.create(
        creator=creator,
        idempotency_id=idempotency_id,
        type=chain_type,
        request=storable_request(raw),
        created_at=now,
    )


def _replay(creator: str, idempotency_id: str, chain_type: str) -> ChainReceipt | None:
    chain = (
        OrderChain.objects.filter(creator=creator, idempotency_id=idempotency_id, type=chain_type)
        .only("id", "receipt")
        .first()
    )
    if chain is None or chain.receipt is None:
        return None
    return ChainReceipt(chain_id=chain.id, body=chain.receipt, created=False)


def chain_create(
    *, creator: str, request: ChainRequest, registry: ContactRegistry | None = None
) -> ChainReceipt:
    """Register an order chain, or return the receipt of the one registered with this idempotencyId.

    Raises MissingContactInformation (nothing stored) and TemporaryFailure (registry down).
    """
    replay = _replay(creator, request.idempotency_id, OrderChain.Type.NOTIFICATION)
    if replay is not None:
        return replay

    shipments = [request.main, *request.reminders]
    try:
        prefetched = _prefetch(shipments, registry or get_registry())
        lookups = [
            recipient_lookup_summarise(
                channel=s.notification_channel, recipients=[s.recipient], registry=prefetched
            )
            for s in shipments
        ]
    except RegistryUnavailable as exc:
        logger.warning("contact registry unavailable; order chain refused with 503: %s", exc)
        raise TemporaryFailure(
            "The contact registry could not be reached to check the recipients; try again later."
        ) from exc
    missing = {
        s.identifier_path: [MSG_NO_CONTACT]
        for s, lookup in zip(shipments, lookups, strict=True)
        if lookup is not None and lookup.missing_contact
    }
    if missing:
        raise MissingContactInformation(missing)

    now = timezone.now()
    main_time = request.main.requested_send_time or now
    try:
        with transaction.atomic():
            chain = order_chain_insert(
                creator=creator,
                idempotency_id=request.idempotency_id,
                chain_type=OrderChain.Type.NOTIFICATION,
                raw=request.raw,
                now=now,
            )
            orders: list[Order] = []
            for index, (shipment, lookup) in enumerate(zip(shipments, lookups, strict=True)):
                if index == 0:
                    send_time = main_time
                elif shipment.delay_days is not None:
                    # Counted from the main notification's send time, as the reference does (not from now).
                    send_time = main_time + timedelta(days=shipment.delay_days)
                else:
                    assert shipment.requested_send_time is not None
                    send_time = shipment.requested_send_time
                order = order_insert(
                    creator=creator,
                    notification_channel=shipment.notification_channel,
                    recipients=[shipment.recipient],
                    requested_send_time=send_time,
                    now=now,
                    lookup=lookup,
                    senders_reference=shipment.senders_reference,
                    condition_endpoint=shipment.condition_endpoint,
                    ignore_reservation=shipment.ignore_reservation,
                    resource_id=shipment.resource_id,
                    resource_action=shipment.resource_action,
                    email_template=shipment.email_template,
                    sms_template=shipment.sms_template,
                    sending_time_policy=shipment.sending_time_policy,
                    order_type=OrderType.NOTIFICATION if index == 0 else OrderType.REMINDER,
                    chain=chain,
                )
                order_enqueue_if_due(order, now=now)
                orders.append(order)
            chain.receipt = chain_receipt_body(chain.id, orders[0], orders[1:])
            chain.save(update_fields=["receipt"])
    except IntegrityError:
        # A concurrent request with the same idempotencyId committed first; it is the one that counts.
        replay = _replay(creator, request.idempotency_id, OrderChain.Type.NOTIFICATION)
        if replay is None:
            raise
        return replay
    logger.info(
        "order chain %s registered with %d reminder(s)",
        chain.id,
        len(orders) - 1,
        extra={"order_id": str(orders[0].id), "creator": creator},
    )
    return ChainReceipt(chain_id=chain.id, body=chain.receipt, created=True)


def order_chain_requests_purge(*, now: datetime | None = None) -> int:
    """Empty the stored request of chains whose orders have all been final for NOTIFICATIONS_RETENTION_DAYS.

    The request repeats the orders' recipients and texts, which the retention job purges from the orders
    themselves then; the receipt (ids and references) stays. 0 keeps everything.
    """
    days = int(settings.NOTIFICATIONS_RETENTION_DAYS)
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    # An order still pending, or final for less than the retention, keeps its chain's request.
    kept = Order.objects.filter(chain_id=OuterRef("pk")).exclude(
        status__in=sorted(ORDER_FINAL_STATUSES), status_changed_at__lt=cutoff
    )
    purged = (
        OrderChain.objects.filter(created_at__lt=cutoff)
        .exclude(request={})
        .exclude(Exists(kept))
        .update(request={})
    )
    if purged:
        logger.info("emptied the stored request of %d order chain(s)", purged)
    return purged
