"""Notification generation: channel rules per recipient, rendered texts, rows spooled for one COPY.

Rows go to a :class:`~dispatch.services.bulk.DedupCopySpool` as they are generated, so a worker's memory
stays flat however many recipients an order has.

Channel rules follow the reference service (§3.5–3.6 of its specification):

=============== =========================================== ===============================================
channel         recipient with addresses                    reserved (not ignored) / no address
=============== =========================================== ===============================================
Email           one email per email address                 one failed email, empty address
Sms             one SMS per mobile number                   one failed SMS, empty address
EmailAndSms     both of the above                           one failed notification per channel
EmailPreferred  emails if it has any, else SMSes            one failed email
SmsPreferred    SMSes if it has any, else emails            one failed SMS
=============== =========================================== ===============================================

Within an order and channel each address gets one notification (``docs/pipeline.md``, deduplication):
the first recipient, in recipient order, to reach an address owns its notification, and every later
recipient reaching the same address is recorded on it (``served_positions``) instead of getting another.
Failures (reserved, not identified) are never merged: each such recipient keeps its own. The merging is
done by PostgreSQL when the rows are inserted (``DedupCopySpool``): the worker holds no address keys.

Unlike the reference, a preferred channel is one channel: a recipient given with both an email address and
a mobile number gets only the preferred one (the reference sent both), and ``EmailAndSms`` accepts
recipients given by address (the reference failed the whole order). An organization's permitted contact
persons (orders with a ``resourceId``, see ``orders.authorization``) are planned as the reference plans
them: a preferred channel is decided for each person on their own, besides the organization's own list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import NamedTuple

from dispatch.services.bulk import CopySpool, DedupCopySpool, copy_text
from dispatch.services.expiry import email_expires_at, sms_expires_at
from orders.models import (
    EmailNotification,
    EmailStatus,
    NotificationChannel,
    Order,
    SmsNotification,
    SmsStatus,
)
from orders.registry.base import ExternalIdentityContact, OrganizationContacts, PersonContact
from orders.registry.normalise import email_address_key, mobile_number_key
from orders.registry.urns import external_identity_addresses, username_urns
from templates.models import EmailContentType
from templates.services import KeywordValues, keywords_present, keywords_render
from templates.sms import sms_part_count


class RecipientRow(NamedTuple):
    """A registered recipient as the generator reads it (no model instances: 100,000 of them add up).

    Named tuples, here and below, not frozen dataclasses: three are made per recipient, and a frozen
    dataclass's __init__ costs several times a tuple's (a tenth of a 100,000-recipient order's time).
    """

    position: int
    email_address: str | None
    mobile_number: str | None
    organization_number: str | None
    national_identity_number: str | None
    external_identity: str | None


class ResolvedRecipient(NamedTuple):
    """A recipient after lookup: its addresses, reservation and what its keywords stand for."""

    row: RecipientRow
    emails: tuple[str, ...]
    mobiles: tuple[str, ...]
    reserved: bool
    name: str | None
    keywords: KeywordValues | None
    # An organization's permitted contact persons (email, mobile), for an order with a resourceId.
    persons: tuple[tuple[str | None, str | None], ...] = ()


def recipient_resolve(
    row: RecipientRow,
    *,
    persons: dict[str, PersonContact],
    organizations: dict[str, OrganizationContacts],
    identities: Mapping[str, ExternalIdentityContact] | None = None,
    ignore_reservation: bool,
) -> ResolvedRecipient:
    """Addresses of one recipient: looked up for a NIN, organization number or username identity, taken
    from the URN of an ID-porten email identity, as given otherwise."""
    if row.external_identity:
        # Never reserved; keywords are left as written (there is no name to put in), as in the reference.
        addresses = external_identity_addresses(row.external_identity, identities or {})
        if addresses is None:  # unknown to the registry: not identified, like an unknown person
            return ResolvedRecipient(row, (), (), False, None, None)
        return ResolvedRecipient(row, addresses[0], addresses[1], False, None, None)
    if row.national_identity_number:
        person = persons.get(row.national_identity_number)
        if person is None:  # unknown to the registry: not identified, keywords left as written
            return ResolvedRecipient(row, (), (), False, None, None)
        return ResolvedRecipient(
            row,
            (person.email_address,) if person.email_address else (),
            (person.mobile_number,) if person.mobile_number else (),
            person.reserved and not ignore_reservation,
            person.name,
            KeywordValues.for_person(name=person.name),
        )
    if row.organization_number:
        organization = organizations.get(row.organization_number)
        if organization is None:
            return ResolvedRecipient(row, (), (), False, None, None)
        return ResolvedRecipient(
            row,
            tuple(dict.fromkeys(a for a in organization.email_addresses if a)),
            tuple(dict.fromkeys(a for a in organization.mobile_numbers if a)),
            False,  # organizations are never reserved
            organization.name,
            KeywordValues.for_organization(
                organization_number=row.organization_number, name=organization.name
            ),
            tuple((p.email_address, p.mobile_number) for p in organization.person_contacts),
        )
    return ResolvedRecipient(
        row,
        (row.email_address,) if row.email_address else (),
        (row.mobile_number,) if row.mobile_number else (),
        False,
        None,
        None,
    )


EMAIL = "email"
SMS = "sms"


class ChannelPlan(NamedTuple):
    """What one recipient gets in one channel: notifications to ``addresses``, or one failure."""

    channel: str
    addresses: tuple[str, ...] = ()
    failure: str | None = None  # "reserved" or "not_identified"


# Built once: channel_plan runs for every recipient of an order.
_CHANNEL_KINDS: dict[str, tuple[str, ...]] = {
    NotificationChannel.EMAIL: (EMAIL,),
    NotificationChannel.SMS: (SMS,),
    NotificationChannel.EMAIL_AND_SMS: (EMAIL, SMS),
}


def _one_plan(recipient: ResolvedRecipient, kind: str) -> ChannelPlan:
    if recipient.reserved:
        return ChannelPlan(kind, failure="reserved")
    addresses = recipient.emails if kind == EMAIL else recipient.mobiles
    if not addresses:
        return ChannelPlan(kind, failure="not_identified")
    return ChannelPlan(kind, addresses=addresses)


def channel_plan(
    recipient: ResolvedRecipient, channel: str, *, available: frozenset[str]
) -> list[ChannelPlan]:
    """The notifications a recipient gets for an order channel (only channels with a template count)."""
    if recipient.persons:
        return _plan_with_persons(recipient, channel, available=available)
    kinds = _CHANNEL_KINDS.get(channel)
    if kinds is not None:
        return [_one_plan(recipient, kind) for kind in kinds if kind in available]
    if channel in (NotificationChannel.EMAIL_PREFERRED, NotificationChannel.SMS_PREFERRED):
        order = [EMAIL, SMS] if channel == NotificationChannel.EMAIL_PREFERRED else [SMS, EMAIL]
        candidates = [kind for kind in order if kind in available]
        if not candidates:
            return []
        if not recipient.reserved:
            for kind in candidates:
                addresses = recipient.emails if kind == EMAIL else recipient.mobiles
                if addresses:
                    return [ChannelPlan(kind, addresses=addresses)]
        # Reserved, or no address in either channel: the failure is reported in the preferred channel.
        return [_one_plan(recipient, candidates[0])]
    NotificationChannel(channel)  # an unknown channel is an error (ValueError), as it always was
    return []


def _plan_with_persons(
    recipient: ResolvedRecipient, channel: str, *, available: frozenset[str]
) -> list[ChannelPlan]:
    """An organization with permitted contact persons: its own addresses, then each person's.

    Fixed channels send to every address of the kind. A preferred channel is decided for the
    organization's own addresses as a list (as for any recipient) and for each person on their own: a
    person with only a mobile number gets an SMS even when the organization has email addresses, as the
    service we replace does. An address given twice is sent to once.
    """
    own = {EMAIL: recipient.emails, SMS: recipient.mobiles}
    chosen: dict[str, list[str]] = {EMAIL: [], SMS: []}
    kinds = _CHANNEL_KINDS.get(channel)
    if kinds is not None:
        kinds = tuple(kind for kind in kinds if kind in available)
        for kind in kinds:
            chosen[kind].extend(own[kind])
            chosen[kind].extend(a for e, m in recipient.persons if (a := e if kind == EMAIL else m))
        return [
            ChannelPlan(kind, addresses=tuple(dict.fromkeys(chosen[kind])))
            if chosen[kind]
            else ChannelPlan(kind, failure="not_identified")
            for kind in kinds
        ]
    NotificationChannel(channel)  # an unknown channel is an error (ValueError)
    order = [EMAIL, SMS] if channel == NotificationChannel.EMAIL_PREFERRED else [SMS, EMAIL]
    candidates = [kind for kind in order if kind in available]
    if not candidates:
        return []
    for kind in candidates:
        if own[kind]:
            chosen[kind].extend(own[kind])
            break
    for email, mobile in recipient.persons:
        addresses = {EMAIL: email, SMS: mobile}
        for kind in candidates:
            if address := addresses[kind]:
                chosen[kind].append(address)
                break
    plans = [
        ChannelPlan(kind, addresses=tuple(dict.fromkeys(chosen[kind]))) for kind in order if chosen[kind]
    ]
    return plans or [ChannelPlan(candidates[0], failure="not_identified")]


@dataclass
class GenerationCounts:
    new: int = 0
    failed: int = 0
    by_channel: dict[str, int] = field(default_factory=lambda: {EMAIL: 0, SMS: 0})


class _ChannelRows:
    """Row templates of one channel for one order: shared values encoded once, per-row values filled in."""

    def __init__(
        self,
        spool: DedupCopySpool,
        *,
        address_field: str,
        common: dict[str, object],
        new: str,
        failed: dict[str, str],
    ) -> None:
        self.spool = spool
        base = {**common, "recipient_position": 0}
        self.new = spool.row({**base, "status": new})
        self.failed = {reason: spool.row({**base, "status": status}) for reason, status in failed.items()}
        position = spool.position
        self.identity = [
            position[name]
            for name in (
                "recipient_position",
                "recipient_organization_number",
                "recipient_national_identity_number",
                "recipient_name",
            )
        ]
        self.address = position[address_field]
        self.direct = self._direct_segments()

    def _direct_segments(self) -> tuple[str, str, str, bool]:
        """The new row of a recipient given only by an address, as COPY text around its two values.

        Exactly what :meth:`start` and the address make of the template for such a recipient (no
        organization number, NIN or name): ``(before, between, after, position_first)``.
        """
        row = self.new.copy()
        p_position, p_orgno, p_nin, p_name = self.identity
        row[p_orgno] = row[p_nin] = row[p_name] = copy_text(None)
        # NUL never occurs in COPY text (PostgreSQL refuses it in text), so it marks the two places.
        row[p_position], row[self.address] = "\0P", "\0A"
        text = "\t".join(row) + "\t"
        position_first = text.index("\0P") < text.index("\0A")
        before, between, after = text.replace("\0P", "\0").replace("\0A", "\0").split("\0")
        return before, between, after, position_first

    def start(self, template: list[str], recipient: ResolvedRecipient) -> list[str]:
        """A copy of ``template`` with the recipient's identity filled in."""
        row = template.copy()
        row_data = recipient.row
        p_position, p_orgno, p_nin, p_name = self.identity
        row[p_position] = str(row_data.position)
        row[p_orgno] = copy_text(row_data.organization_number)
        row[p_nin] = copy_text(row_data.national_identity_number)
        row[p_name] = copy_text(recipient.name)
        return row


class OrderGenerator:
    """Turns an order's recipients, chunk by chunk, into spooled email and SMS rows."""

    def __init__(self, order: Order, *, now: datetime) -> None:
        self.order = order
        self.counts = GenerationCounts()
        self.email_template = order.email_template
        self.sms_template = order.sms_template
        available = set()
        if self.email_template is not None:
            available.add(EMAIL)
        if self.sms_template is not None:
            available.add(SMS)
        self.available = frozenset(available)
        common = {"order_id": order.id, "status_changed_at": now, "created_at": now}
        self.email_spool = DedupCopySpool(EmailNotification, now=now, served_column="served_positions")
        self.sms_spool = DedupCopySpool(SmsNotification, now=now, served_column="served_positions")
        self._email = _ChannelRows(
            self.email_spool,
            address_field="to_address",
            common={**common, "expires_at": email_expires_at(order.requested_send_time)},
            new=EmailStatus.NEW,
            failed={
                "reserved": EmailStatus.FAILED_RECIPIENT_RESERVED,
                "not_identified": EmailStatus.FAILED_RECIPIENT_NOT_IDENTIFIED,
            },
        )
        self._sms = _ChannelRows(
            self.sms_spool,
            address_field="mobile_number",
            common={
                **common,
                "expires_at": sms_expires_at(order.requested_send_time, order.sending_time_policy),
                "sending_time_policy": order.sending_time_policy,
                "parts": sms_part_count(self.sms_template.body) if self.sms_template else None,
            },
            new=SmsStatus.NEW,
            failed={
                "reserved": SmsStatus.FAILED_RECIPIENT_RESERVED,
                "not_identified": SmsStatus.FAILED_RECIPIENT_NOT_IDENTIFIED,
            },
        )
        # The sms row template carries the template's part count; rendered bodies are counted again.
        self._sms.failed = {
            reason: self._with(self.sms_spool, row, parts=None) for reason, row in self._sms.failed.items()
        }
        email_position, sms_position = self.email_spool.position, self.sms_spool.position
        self._p_subject, self._p_email_body = email_position["subject"], email_position["body"]
        self._p_sms_body, self._p_parts = sms_position["body"], sms_position["parts"]
        self._email_html = (
            self.email_template is not None and self.email_template.content_type == EmailContentType.HTML
        )
        self._subject_keywords = self.email_template is not None and keywords_present(
            self.email_template.subject
        )
        self._email_body_keywords = self.email_template is not None and keywords_present(
            self.email_template.body
        )
        self._sms_body_keywords = self.sms_template is not None and keywords_present(self.sms_template.body)

    @staticmethod
    def _with(spool: CopySpool, row: list[str], **values: object) -> list[str]:
        row = row.copy()
        for name, value in values.items():
            row[spool.position[name]] = copy_text(value)
        return row

    def missing_channels_note(self) -> str:
        """A note for the order when its channel needs a template it does not have."""
        needed = {
            NotificationChannel.EMAIL: {EMAIL},
            NotificationChannel.SMS: {SMS},
            NotificationChannel.EMAIL_AND_SMS: {EMAIL, SMS},
        }.get(NotificationChannel(self.order.notification_channel), {EMAIL, SMS})
        missing = sorted(needed - self.available)
        if not missing:
            return ""
        return "No notifications in channel(s) " + ", ".join(missing) + ": the order has no template for it."

    def add_rows(
        self, rows: Iterable[RecipientRow], resolve: Callable[[RecipientRow], ResolvedRecipient]
    ) -> None:
        """Spool the rows of recipients as read, in order; ``resolve`` looks a recipient up.

        In an ``Sms`` or ``Email`` order, a recipient given only by an address of that channel (the
        common large order) is not resolved or planned: its row is the channel's new row with the
        position and address put in, the same text :meth:`add` writes for it, several times faster.
        """
        channel = self.order.notification_channel
        key_of: Callable[[str], str]
        if channel == NotificationChannel.SMS and SMS in self.available:
            rows_of, kind, field, key_of = self._sms, SMS, "mobile_number", mobile_number_key
        elif channel == NotificationChannel.EMAIL and EMAIL in self.available:
            rows_of, kind, field, key_of = self._email, EMAIL, "email_address", email_address_key
        else:
            self.add(resolve(row) for row in rows)
            return
        before, between, after, position_first = rows_of.direct
        add, address_of = rows_of.spool.add_encoded_keyed, attrgetter(field)
        direct = 0
        for row in rows:
            address = address_of(row)
            if (
                not address
                or row.organization_number
                or row.national_identity_number
                or row.external_identity
            ):
                self.add((resolve(row),))
                continue
            position = row.position
            if position_first:
                text = f"{before}{position}{between}{copy_text(address)}{after}"
            else:
                text = f"{before}{copy_text(address)}{between}{position}{after}"
            add(text, key_of(address), position)
            direct += 1
        self.counts.new += direct
        self.counts.by_channel[kind] += direct

    def add(self, recipients: Iterable[ResolvedRecipient]) -> None:
        channel = self.order.notification_channel
        for recipient in recipients:
            for plan in channel_plan(recipient, channel, available=self.available):
                if plan.channel == EMAIL:
                    self._add_email(recipient, plan)
                else:
                    self._add_sms(recipient, plan)

    def _add_failed(self, rows: _ChannelRows, recipient: ResolvedRecipient, reason: str) -> None:
        self.counts.failed += 1
        self.counts.by_channel[EMAIL if rows is self._email else SMS] += 1
        rows.spool.add(rows.start(rows.failed[reason], recipient))

    def _add_email(self, recipient: ResolvedRecipient, plan: ChannelPlan) -> None:
        rows = self._email
        if plan.failure:
            self._add_failed(rows, recipient, plan.failure)
            return
        assert self.email_template is not None  # the plan only names channels with a template
        row = rows.start(rows.new, recipient)
        if recipient.keywords is not None:
            if self._subject_keywords:
                row[self._p_subject] = copy_text(
                    keywords_render(self.email_template.subject, recipient.keywords)
                )
            if self._email_body_keywords:
                body = keywords_render(
                    self.email_template.body, recipient.keywords, html_escape=self._email_html
                )
                row[self._p_email_body] = copy_text(body)
        self._add_addresses(rows, row, plan.addresses, EMAIL, recipient.row.position)

    def _add_sms(self, recipient: ResolvedRecipient, plan: ChannelPlan) -> None:
        rows = self._sms
        if plan.failure:
            self._add_failed(rows, recipient, plan.failure)
            return
        assert self.sms_template is not None
        row = rows.start(rows.new, recipient)
        if recipient.keywords is not None and self._sms_body_keywords:
            body = keywords_render(self.sms_template.body, recipient.keywords)
            row[self._p_sms_body] = copy_text(body)
            row[self._p_parts] = str(sms_part_count(body))
        self._add_addresses(rows, row, plan.addresses, SMS, recipient.row.position)

    def _add_addresses(
        self, rows: _ChannelRows, row: list[str], addresses: tuple[str, ...], kind: str, position: int
    ) -> None:
        # Every address is spooled with its key; copy_into keeps the first row of each key (deduplication).
        key_of = email_address_key if kind == EMAIL else mobile_number_key
        p_address, add = rows.address, rows.spool.add_keyed
        self.counts.new += len(addresses)
        self.counts.by_channel[kind] += len(addresses)
        for address in addresses:
            row[p_address] = copy_text(address)
            add(row, key_of(address), position)

    def copy_into(self) -> int:
        """Insert every spooled row, one per address (call inside the transaction that moves the order on).

        The counts then count the notifications inserted, the merged rows left out.
        """
        inserted = 0
        for spool, kind in ((self.email_spool, EMAIL), (self.sms_spool, SMS)):
            inserted += spool.copy_into()
            self.counts.new -= spool.merged
            self.counts.by_channel[kind] -= spool.merged
        return inserted

    def close(self) -> None:
        self.email_spool.close()
        self.sms_spool.close()


def lookup_numbers(rows: Sequence[RecipientRow]) -> tuple[list[str], list[str], list[str]]:
    """The NINs, organization numbers and username identities of a chunk that need a registry lookup."""
    nins = [r.national_identity_number for r in rows if r.national_identity_number]
    orgnos = [r.organization_number for r in rows if r.organization_number and not r.national_identity_number]
    return nins, orgnos, username_urns(r.external_identity for r in rows)
