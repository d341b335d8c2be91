"""Writes of the orders app: register an order, cancel it, and the recipient lookup of its receipt."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, NamedTuple, overload
from uuid import UUID

from celery import current_app
from django.db import connection, transaction
from django.utils import timezone

from core.middleware import log_with_request
from core.problems import ApplicationError, ConflictError
from orders.feed import status_feed_record
from orders.idempotency import (
    IDEMPOTENCY_TAKEN_OVER,
    IdempotencyClaim,
    IdempotencyKeyInFlight,
    idempotency_complete,
)
from orders.models import (
    NotificationChannel,
    Order,
    OrderChain,
    OrderStatus,
    OrderType,
    Recipient,
    SendingTimePolicy,
)
from orders.order_statement import ONE_STATEMENT_MAX_RECIPIENTS, order_statement_insert
from orders.registry import get_registry
from orders.registry.base import ContactRegistry, RegistryUnavailable
from orders.registry.urns import external_identity_addresses, username_urns
from orders.selectors import order_get_with_status
from orders.warnings import TemplatePaths, order_warnings
from templates.records import EmailTemplateData, SmsTemplateData, email_template_row, sms_template_row
from templates.sms import sms_part_count
from templates.warnings import ContentWarning, warnings_json

logger = logging.getLogger(__name__)

ORDER_PROCESS_TASK = "dispatch.order_process"
# The reference's margin: an order can be cancelled until five minutes before its send time.
CANCEL_MARGIN = timedelta(minutes=5)


class OrderNotFound(ApplicationError):
    status_code = 404
    title = "Not Found"


class RecipientData(NamedTuple):
    """A recipient as registered. A named tuple, not a frozen dataclass: an order may make 100,000, and a
    frozen dataclass's __init__ costs several times a tuple's."""

    email_address: str | None = None
    mobile_number: str | None = None
    organization_number: str | None = None
    national_identity_number: str | None = None
    external_identity: str | None = None  # a URN (orders.registry.urns)


class MobileRecipients(Sequence[RecipientData]):
    """Recipients given by nothing but a mobile number each, held as the numbers alone.

    What a large SMS order nearly always is: the fast decoder (orders.api.decoder) hands 100,000 numbers
    over without making a RecipientData per recipient. It reads as the equal list of
    ``RecipientData(mobile_number=...)``; the write (``recipients_copy``), the lookup and the warnings
    take their shortcuts from it. Only numbers in the plain form ``validation.PLAIN_MOBILE_NUMBER``
    matches (``+``/``00`` and digits) belong here: they are written into COPY's text format unescaped.
    """

    __slots__ = ("numbers",)

    def __init__(self, numbers: list[str]) -> None:
        self.numbers = numbers

    def __len__(self) -> int:
        return len(self.numbers)

    @overload
    def __getitem__(self, index: int) -> RecipientData: ...
    @overload
    def __getitem__(self, index: slice) -> list[RecipientData]: ...
    def __getitem__(self, index: int | slice) -> RecipientData | list[RecipientData]:
        if isinstance(index, slice):
            return [RecipientData(None, number) for number in self.numbers[index]]
        return RecipientData(None, self.numbers[index])

    def __iter__(self) -> Iterator[RecipientData]:
        return (RecipientData(None, number) for number in self.numbers)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MobileRecipients):
            return self.numbers == other.numbers
        if isinstance(other, (list, tuple)):
            return len(other) == len(self.numbers) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like the list it stands for

    def __repr__(self) -> str:
        return f"MobileRecipients({len(self.numbers)} numbers)"


class LookupStatus:
    SUCCESS = "Success"
    PARTIAL_SUCCESS = "PartialSuccess"
    FAILED = "Failed"


@dataclass(frozen=True)
class RecipientLookup:
    """What the receipt tells the client about the recipients looked up in the contact registry."""

    status: str
    is_reserved: list[str]
    missing_contact: list[str]
    # Reservation per NIN found in the registry (stored on the recipient rows).
    reservations: dict[str, bool]
    # NINs and organization numbers found without a name ($recipientName$ becomes empty for them).
    unnamed: frozenset[str] = frozenset()

    def as_receipt(self) -> dict[str, Any]:
        return {"status": self.status, "isReserved": self.is_reserved, "missingContact": self.missing_contact}


@dataclass(frozen=True)
class OrderReceipt:
    order: Order
    recipient_lookup: RecipientLookup | None
    warnings: Sequence[ContentWarning] = ()

    @property
    def sms_part_count(self) -> int | None:
        return order_sms_part_count(self.order)

    def body(self) -> dict[str, Any]:
        """The 202 receipt's JSON document (``receipt_body``): the one stored for an Idempotency-Key and
        the one answered, built once."""
        return self._body

    @cached_property
    def _body(self) -> dict[str, Any]:
        return receipt_body(
            order_id=self.order.id,
            lookup=self.recipient_lookup,
            sms_parts=self.sms_part_count,
            warnings=self.warnings,
        )


def order_sms_part_count(order: Order) -> int | None:
    """Parts of the SMS text as registered (None without one); keywords may change it per recipient."""
    return sms_part_count(order.sms_template.body) if order.sms_template is not None else None


def _reaches(channel: str, emails: bool, mobiles: bool) -> bool:
    if channel == NotificationChannel.EMAIL:
        return emails
    if channel == NotificationChannel.SMS:
        return mobiles
    # EmailPreferred, SmsPreferred and EmailAndSms need either kind of address.
    return emails or mobiles


def recipient_lookup_summarise(
    *, channel: str, recipients: Sequence[RecipientData], registry: ContactRegistry
) -> RecipientLookup | None:
    """The receipt's ``recipientLookup`` (reference §1.4.1), or None when no recipient needs a lookup.

    1. Persons (NIN), organizations (number) and self-identified users (username URN) are looked up, each
       kind in one registry call; an ID-porten email identity is reached at the address it names.
    2. A reserved person is listed under ``isReserved`` (whatever ``ignoreReservation`` says, as the
       reference does); a recipient without an address for the channel under ``missingContact``.
    3. ``Failed`` when every looked-up recipient is in one of the lists, ``PartialSuccess`` when some are.

    Raises RegistryUnavailable when the registry cannot answer.
    """
    if isinstance(recipients, MobileRecipients):
        return None  # mobile numbers only: nobody to look up
    nins = list(dict.fromkeys(r.national_identity_number for r in recipients if r.national_identity_number))
    orgnos = list(dict.fromkeys(r.organization_number for r in recipients if r.organization_number))
    identities = [r.external_identity for r in recipients if r.external_identity]
    if not nins and not orgnos and not identities:
        return None
    persons = registry.persons(nins) if nins else {}
    organizations = registry.organizations(orgnos) if orgnos else {}
    usernames = username_urns(identities)
    self_identified = registry.external_identities(usernames) if usernames else {}

    is_reserved: dict[str, None] = {}
    missing: dict[str, None] = {}
    looked_up = unreachable = 0
    for recipient in recipients:
        if recipient.national_identity_number:
            nin = recipient.national_identity_number
            person = persons.get(nin)
            looked_up += 1
            if person is not None and person.reserved:
                is_reserved[nin] = None
                unreachable += 1
            elif person is None or not _reaches(
                channel, bool(person.email_address), bool(person.mobile_number)
            ):
                missing[nin] = None
                unreachable += 1
        elif recipient.organization_number:
            orgno = recipient.organization_number
            organization = organizations.get(orgno)
            looked_up += 1
            if organization is None or not _reaches(
                channel, bool(organization.email_addresses), bool(organization.mobile_numbers)
            ):
                missing[orgno] = None
                unreachable += 1
        elif recipient.external_identity:
            # Never reserved: reservation is a register of persons by national identity number.
            urn = recipient.external_identity
            addresses = external_identity_addresses(urn, self_identified)
            looked_up += 1
            if addresses is None or not _reaches(channel, bool(addresses[0]), bool(addresses[1])):
                missing[urn] = None
                unreachable += 1
    if unreachable == 0:
        status = LookupStatus.SUCCESS
    elif unreachable == looked_up:
        status = LookupStatus.FAILED
    else:
        status = LookupStatus.PARTIAL_SUCCESS
    return RecipientLookup(
        status=status,
        is_reserved=list(is_reserved),
        missing_contact=list(missing),
        reservations={nin: person.reserved for nin, person in persons.items()},
        unnamed=frozenset(
            [nin for nin, person in persons.items() if not person.name]
            + [orgno for orgno, organization in organizations.items() if not organization.name]
        ),
    )


def receipt_body(
    *,
    order_id: UUID,
    lookup: RecipientLookup | None,
    sms_parts: int | None = None,
    warnings: Sequence[ContentWarning] = (),
) -> dict[str, Any]:
    """The 202 receipt, as the API returns it and as an idempotent replay returns it again.

    ``warnings`` is left out when there are none, so a receipt without any reads as it always did.
    """
    body: dict[str, Any] = {"orderId": str(order_id)}
    if lookup is not None:
        body["recipientLookup"] = lookup.as_receipt()
    if sms_parts is not None:
        body["smsPartCount"] = sms_parts
    if warnings:
        body["warnings"] = warnings_json(warnings)
    return body


def default_sending_time_policy(channel: str) -> str:
    # SMS goes out inside the daytime window, as v1 SMS orders do in the reference; email any time.
    if channel == NotificationChannel.EMAIL:
        return SendingTimePolicy.ANYTIME
    return SendingTimePolicy.DAYTIME


def _enqueue_processing(order_id: UUID) -> None:
    """Fast path to the pipeline; if the broker is down the due-order sweep finds the order anyway."""
    try:
        # By task name through the current app: the orders app never imports the pipeline or the wiring.
        current_app.send_task(ORDER_PROCESS_TASK, args=[str(order_id)])
    except Exception:  # any broker failure: the order is committed and the sweep is the safety net
        logger.warning(
            "could not enqueue order %s; the due-order sweep will pick it up",
            order_id,
            exc_info=True,
            extra={"order_id": str(order_id)},
        )


def order_row(
    *,
    creator: str,
    notification_channel: str,
    requested_send_time: datetime,
    now: datetime,
    lookup: RecipientLookup | None,
    senders_reference: str | None = None,
    condition_endpoint: str | None = None,
    status_callback_url: str | None = None,
    ignore_reservation: bool | None = None,
    resource_id: str | None = None,
    resource_action: str | None = None,
    email_template: EmailTemplateData | None = None,
    sms_template: SmsTemplateData | None = None,
    sending_time_policy: str | None = None,
    order_type: str = OrderType.NOTIFICATION,
    chain: OrderChain | None = None,
    status: str = OrderStatus.REGISTERED,
) -> Order:
    """The order ``order_insert`` stores, unsaved, with its unsaved template rows attached (ids set)."""
    if senders_reference is not None and not senders_reference.strip():
        senders_reference = None  # whitespace-only is no reference, as in the reference's column
    return Order(
        creator=creator,
        type=order_type,
        chain=chain,
        senders_reference=senders_reference,
        requested_send_time=requested_send_time,
        notification_channel=notification_channel,
        sending_time_policy=sending_time_policy or default_sending_time_policy(notification_channel),
        ignore_reservation=ignore_reservation,
        resource_id=resource_id,
        resource_action=resource_action,
        condition_endpoint=condition_endpoint,
        status_callback_url=status_callback_url,
        email_template=email_template_row(email_template) if email_template is not None else None,
        sms_template=sms_template_row(sms_template) if sms_template is not None else None,
        status=status,
        status_changed_at=now,
        recipient_lookup=lookup.as_receipt() if lookup else None,
    )


def order_insert(
    *,
    creator: str,
    notification_channel: str,
    recipients: Sequence[RecipientData],
    requested_send_time: datetime,
    now: datetime,
    lookup: RecipientLookup | None,
    senders_reference: str | None = None,
    condition_endpoint: str | None = None,
    status_callback_url: str | None = None,
    ignore_reservation: bool | None = None,
    resource_id: str | None = None,
    resource_action: str | None = None,
    email_template: EmailTemplateData | None = None,
    sms_template: SmsTemplateData | None = None,
    sending_time_policy: str | None = None,
    order_type: str = OrderType.NOTIFICATION,
    chain: OrderChain | None = None,
    status: str = OrderStatus.REGISTERED,
) -> Order:
    """Insert an order with its templates and recipients (in bulk, position = list index).

    The one insert of every kind of order: v1 orders, the shipments of an order chain and instant orders
    (which are born Processed, their one notification added by ``orders.instant``). Call it inside a
    transaction; it makes no network call and enqueues nothing (see ``order_enqueue_if_due``).
    ``lookup`` is the registration lookup, whose reservations are stored on the recipients. Without
    ``sending_time_policy``, SMS-bearing orders are Daytime, email ones Anytime.
    """
    order = order_row(
        creator=creator,
        notification_channel=notification_channel,
        requested_send_time=requested_send_time,
        now=now,
        lookup=lookup,
        senders_reference=senders_reference,
        condition_endpoint=condition_endpoint,
        status_callback_url=status_callback_url,
        ignore_reservation=ignore_reservation,
        resource_id=resource_id,
        resource_action=resource_action,
        email_template=email_template,
        sms_template=sms_template,
        sending_time_policy=sending_time_policy,
        order_type=order_type,
        chain=chain,
        status=status,
    )
    if order.email_template is not None:
        order.email_template.save(force_insert=True)
    if order.sms_template is not None:
        order.sms_template.save(force_insert=True)
    order.save(force_insert=True)
    reservations = lookup.reservations if lookup else {}
    recipients_copy(order_id=order.id, recipients=recipients, reservations=reservations)
    return order


_RECIPIENT_COLUMNS = (
    "order_id",
    "position",
    "email_address",
    "mobile_number",
    "organization_number",
    "national_identity_number",
    "external_identity",
    "is_reserved",
)


def recipients_copy(
    *, order_id: UUID, recipients: Sequence[RecipientData], reservations: dict[str, bool]
) -> None:
    """Stream an order's recipients into their table with one COPY (position = list index).

    An order may hold 100,000 recipients: the ORM's bulk INSERT made a model instance and bound seven
    parameters per row (about 30,000 rows/s); psycopg's COPY encodes tuples straight onto the wire.
    Rows get exactly the values ``Recipient.objects.bulk_create`` stored (tests/orders check both).
    """
    table = connection.ops.quote_name(Recipient._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(name) for name in _RECIPIENT_COLUMNS)
    # Django's cursor wraps psycopg's; COPY is only on the raw one.
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        if isinstance(recipients, MobileRecipients):
            for chunk in _mobile_copy_text(order_id, recipients.numbers):
                copy.write(chunk)
            return
        for position, r in enumerate(recipients):
            nin = r.national_identity_number
            copy.write_row(
                (
                    order_id,
                    position,
                    r.email_address,
                    r.mobile_number,
                    r.organization_number,
                    nin,
                    r.external_identity,
                    reservations.get(nin) if nin else None,
                )
            )


# Rows of COPY text per write: about 0.7 MB, so the buffer stays small while the server parses.
_COPY_TEXT_ROWS = 10_000
# Characters COPY's text format would need escaped; none is in a plain mobile number.
_COPY_SPECIAL = ("\\", "\t", "\r")


def _mobile_copy_text(order_id: UUID, numbers: list[str]) -> Iterator[str]:
    """The COPY text of mobile-number-only recipients, in chunks: exactly the rows ``write_row`` makes
    of ``RecipientData(mobile_number=...)`` (None is NULL, written ``\\N``)."""
    joined = "\n".join(numbers)
    if (
        "" in numbers
        or any(special in joined for special in _COPY_SPECIAL)
        or joined.count("\n") != len(numbers) - 1
    ):
        raise ValueError("MobileRecipients holds a number that is not in the plain form")
    prefix = f"{order_id}\t"
    for start in range(0, len(numbers), _COPY_TEXT_ROWS):
        yield "".join(
            [
                f"{prefix}{position}\t\\N\t{number}\t\\N\t\\N\t\\N\t\\N\n"
                for position, number in enumerate(numbers[start : start + _COPY_TEXT_ROWS], start)
            ]
        )


def order_enqueue_if_due(order: Order, *, now: datetime) -> None:
    """Hand a due order to the pipeline after the current transaction commits (a later one waits)."""
    if order.requested_send_time <= now:
        order_id = order.id
        transaction.on_commit(lambda: _enqueue_processing(order_id))


def _order_write_one_statement(
    *,
    fields: dict[str, Any],
    recipients: Sequence[RecipientData],
    warnings: Sequence[ContentWarning],
    idempotency: IdempotencyClaim | None,
) -> OrderReceipt:
    """``order_insert`` (and ``idempotency_complete``) for a small order, in one autocommit statement."""
    lookup: RecipientLookup | None = fields["lookup"]
    order = order_row(**fields)
    receipt = OrderReceipt(order=order, recipient_lookup=lookup, warnings=warnings)
    reservations = lookup.reservations if lookup else {}
    rows = [
        (
            position,
            r.email_address,
            r.mobile_number,
            r.organization_number,
            r.national_identity_number,
            r.external_identity,
            reservations.get(r.national_identity_number) if r.national_identity_number else None,
        )
        for position, r in enumerate(recipients)
    ]
    claim = None
    if idempotency is not None:
        claim = (idempotency.id, idempotency.token, receipt.body())
    if not order_statement_insert(order=order, recipient_rows=rows, idempotency=claim):
        raise IdempotencyKeyInFlight(IDEMPOTENCY_TAKEN_OVER)
    for row in (order, order.email_template, order.sms_template):
        if row is not None:
            row._state.adding = False
            row._state.db = connection.alias
    return receipt


def order_create(
    *,
    creator: str,
    notification_channel: str,
    recipients: Sequence[RecipientData],
    requested_send_time: datetime | None = None,
    senders_reference: str | None = None,
    condition_endpoint: str | None = None,
    status_callback_url: str | None = None,
    ignore_reservation: bool | None = None,
    resource_id: str | None = None,
    resource_action: str | None = None,
    email_template: EmailTemplateData | None = None,
    sms_template: SmsTemplateData | None = None,
    registry: ContactRegistry | None = None,
    idempotency: IdempotencyClaim | None = None,
    template_paths: TemplatePaths | None = None,
) -> OrderReceipt:
    """Register an order (status Registered) with its templates and recipients; enqueue it if due.

    1. Look the NIN and organization recipients up for the receipt, outside any transaction (the
       registry may be a remote service). If the registry is down the order is still accepted: the
       pipeline looks the recipients up again when it processes the order.
    2. In one transaction: the templates, the order, the recipients in bulk (position = request index).
    3. After commit, when the send time has come, hand the order to the pipeline by task name.
    With ``idempotency``, the client's key is marked done with the receipt in the same transaction.
    The receipt's content warnings name the fields at ``template_paths`` (the request's shape).
    """
    now = timezone.now()
    try:
        lookup = recipient_lookup_summarise(
            channel=notification_channel, recipients=recipients, registry=registry or get_registry()
        )
    except RegistryUnavailable:
        logger.warning("contact registry unavailable at registration; the receipt has no recipientLookup")
        lookup = None
    warnings = order_warnings(
        recipients=recipients,
        lookup=lookup,
        sms_template=sms_template,
        email_template=email_template,
        paths=template_paths or TemplatePaths(),
    )

    fields: dict[str, Any] = {
        "creator": creator,
        "notification_channel": notification_channel,
        "requested_send_time": requested_send_time or now,
        "now": now,
        "lookup": lookup,
        "senders_reference": senders_reference,
        "condition_endpoint": condition_endpoint,
        "status_callback_url": status_callback_url,
        "ignore_reservation": ignore_reservation,
        "resource_id": resource_id,
        "resource_action": resource_action,
        "email_template": email_template,
        "sms_template": sms_template,
    }
    if len(recipients) < ONE_STATEMENT_MAX_RECIPIENTS:
        receipt = _order_write_one_statement(
            fields=fields, recipients=recipients, warnings=warnings, idempotency=idempotency
        )
        order = receipt.order
        # Outside a transaction the statement has committed and this enqueues at once.
        order_enqueue_if_due(order, now=now)
    else:
        with transaction.atomic():
            order = order_insert(recipients=recipients, **fields)
            receipt = OrderReceipt(order=order, recipient_lookup=lookup, warnings=warnings)
            if idempotency is not None:
                idempotency_complete(
                    claim=idempotency,
                    order=order,
                    status=202,
                    body=receipt.body(),
                )
            order_enqueue_if_due(order, now=now)
    # On the request's log line when registered by a request (core/middleware.py): one line per order.
    log_with_request(
        logger,
        "order %s registered: %s, %d recipient(s)",
        order.id,
        notification_channel,
        len(recipients),
        extra={"order_id": str(order.id), "creator": creator},
    )
    return receipt


def order_cancel(*, order_id: UUID, creator: str) -> Order:
    """Cancel a Registered order more than five minutes before its send time (reference §1.4.5).

    The conditional UPDATE decides, so a cancel racing the pipeline's claim cannot both win. An order
    that is already cancelled is returned as it is; any other state is a conflict.
    """
    now = timezone.now()
    with transaction.atomic():
        cancelled = Order.objects.filter(
            id=order_id,
            creator=creator,
            status=OrderStatus.REGISTERED,
            requested_send_time__gt=now + CANCEL_MARGIN,
        ).update(status=OrderStatus.CANCELLED, status_changed_at=now, updated_at=now)
        if cancelled:
            status_feed_record(order_ids=[order_id])
    order = order_get_with_status(order_id=order_id, creator=creator)
    if order is None:
        raise OrderNotFound("No order with this id was found.")
    if order.status != OrderStatus.CANCELLED:
        raise ConflictError(
            "The order can no longer be cancelled: only a registered order whose send time is more than "
            "five minutes away can be."
        )
    if cancelled:
        logger.info("order %s cancelled", order_id, extra={"order_id": str(order_id), "creator": creator})
    return order
