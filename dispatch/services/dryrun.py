"""Dry runs: what an order would become, resolved and rendered by the pipeline's own rules, stored nowhere.

A dry run takes the same validated request as registration and walks the path processing would take
(``dispatch.services.generation``): recipients looked up in the contact registry chunk by chunk,
reservation and channel rules applied, keywords substituted, SMS parts counted, and each notification's
send time (the daytime window, holidays included) and expiry computed. Nothing is written, nothing is
enqueued and no provider is called.

The answer is bounded whatever the order's size: counts per channel and outcome and the SMS parts in
total over every recipient, and the first ``SAMPLE_SIZE`` notifications rendered in full.

Other request shapes plug in by building a :class:`DraftOrder` (the v1 orders, the shipments of an
order chain and instant orders do); a feature that changes texts per recipient or filters recipients
before generation adds its step to :func:`draft_preview`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from core.problem_codes import REGISTRY_UNAVAILABLE
from core.problems import DependencyUnavailable
from dispatch.services.expiry import email_expires_at, sms_expires_at
from dispatch.services.generation import (
    EMAIL,
    SMS,
    RecipientRow,
    ResolvedRecipient,
    channel_plan,
    lookup_numbers,
    recipient_resolve,
)
from dispatch.services.window import send_window
from orders.chains import ChainRequest, chain_lookups, chain_send_times, shipment_warnings
from orders.instant import InstantEmail, InstantSms, instant_warnings
from orders.models import EmailStatus, NotificationChannel, SendingTimePolicy, SmsStatus
from orders.registry import get_registry
from orders.registry.base import ContactRegistry, RegistryUnavailable
from orders.registry.normalise import email_address_key, mobile_number_key
from orders.services import RecipientData, default_sending_time_policy, recipient_lookup_summarise
from orders.warnings import TemplatePaths, order_warnings
from templates.models import EmailContentType
from templates.records import EmailTemplateData, SmsTemplateData
from templates.services import keywords_present, keywords_render
from templates.sms import sms_part_count
from templates.warnings import ContentWarning, warnings_json

SAMPLE_SIZE = 100
NEW = "New"
_FAILED_STATUS = {
    (EMAIL, "reserved"): EmailStatus.FAILED_RECIPIENT_RESERVED.value,
    (EMAIL, "not_identified"): EmailStatus.FAILED_RECIPIENT_NOT_IDENTIFIED.value,
    (SMS, "reserved"): SmsStatus.FAILED_RECIPIENT_RESERVED.value,
    (SMS, "not_identified"): SmsStatus.FAILED_RECIPIENT_NOT_IDENTIFIED.value,
}
_CHANNEL_NAME = {EMAIL: "Email", SMS: "Sms"}


class DryRunRegistryUnavailable(DependencyUnavailable):
    title = REGISTRY_UNAVAILABLE.title


@dataclass(frozen=True)
class DraftOrder:
    """One order as registration would store it (a v1 order, a shipment of a chain, an instant order)."""

    notification_channel: str
    recipients: Sequence[RecipientData]
    sending_time_policy: str
    requested_send_time: datetime | None = None  # None: now
    ignore_reservation: bool = False
    email_template: EmailTemplateData | None = None
    sms_template: SmsTemplateData | None = None
    label: str = ""  # which order of a request: "notification", "reminders[0]"; empty for a v1 order
    # An instant SMS expires this long after it is sent, not by the channel's rule.
    time_to_live_seconds: int | None = None


@dataclass
class _Counts:
    new: int = 0
    failed: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"new": self.new, "failed": dict(sorted(self.failed.items()))}


@dataclass
class _Preview:
    """The running totals of one order's dry run; only the first SAMPLE_SIZE notifications are built."""

    draft: DraftOrder
    available: frozenset[str]
    # Computed once per order, as generation does: every notification of a channel shares them.
    email_times: dict[str, str]
    sms_times: dict[str, str]
    sms_parts_of_template: int
    counts: dict[str, _Counts] = field(default_factory=lambda: {EMAIL: _Counts(), SMS: _Counts()})
    sms_parts: int = 0
    sample: list[dict[str, Any]] = field(default_factory=list)
    notifications: int = 0
    # One notification per address and channel, as generation makes them: the keys already reached.
    reached: dict[str, set[str]] = field(default_factory=lambda: {EMAIL: set(), SMS: set()})
    served_by_earlier: int = 0

    def first_reach(self, kind: str, addresses: tuple[str, ...]) -> tuple[str, ...]:
        """The addresses no earlier recipient reached; the others' notifications serve this one too."""
        key_of = email_address_key if kind == EMAIL else mobile_number_key
        reached, new = self.reached[kind], []
        for address in addresses:
            key = key_of(address)
            if key in reached:
                self.served_by_earlier += 1
            else:
                reached.add(key)
                new.append(address)
        return tuple(new)

    @property
    def sampling(self) -> bool:
        return len(self.sample) < SAMPLE_SIZE


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _rows(recipients: Sequence[RecipientData]) -> Iterator[list[RecipientRow]]:
    size = max(1, int(settings.NOTIFICATIONS_PROCESSING_CHUNK_SIZE))
    for start in range(0, len(recipients), size):
        yield [
            RecipientRow(
                start + offset,
                r.email_address,
                r.mobile_number,
                r.organization_number,
                r.national_identity_number,
                r.external_identity,
            )
            for offset, r in enumerate(recipients[start : start + size])
        ]


def _render(preview: _Preview, recipient: ResolvedRecipient) -> None:
    draft = preview.draft
    for plan in channel_plan(recipient, draft.notification_channel, available=preview.available):
        counts = preview.counts[plan.channel]
        base = {"channel": _CHANNEL_NAME[plan.channel], "recipientIndex": recipient.row.position}
        if plan.failure:
            status = _FAILED_STATUS[(plan.channel, plan.failure)]
            counts.failed[status] = counts.failed.get(status, 0) + 1
            preview.notifications += 1
            if preview.sampling:
                preview.sample.append({**base, "status": status})
            continue
        addresses = preview.first_reach(plan.channel, plan.addresses)
        counts.new += len(addresses)
        preview.notifications += len(addresses)
        if plan.channel == SMS:
            sms = draft.sms_template
            assert sms is not None
            text = sms.body
            parts = preview.sms_parts_of_template
            if recipient.keywords is not None and keywords_present(text):
                text = keywords_render(text, recipient.keywords)
                parts = sms_part_count(text)
            preview.sms_parts += parts * len(addresses)
            for address in addresses:
                if not preview.sampling:
                    break
                preview.sample.append(
                    {
                        **base,
                        "status": NEW,
                        "mobileNumber": address,
                        "body": text,
                        "smsPartCount": parts,
                        **preview.sms_times,
                    }
                )
            continue
        if not preview.sampling:
            continue
        template = draft.email_template
        assert template is not None
        html = template.content_type == EmailContentType.HTML
        subject = keywords_render(template.subject, recipient.keywords)
        body = keywords_render(template.body, recipient.keywords, html_escape=html)
        for address in addresses:
            if not preview.sampling:
                break
            preview.sample.append(
                {
                    **base,
                    "status": NEW,
                    "emailAddress": address,
                    "subject": subject,
                    "body": body,
                    **preview.email_times,
                }
            )


def _times(draft: DraftOrder, now: datetime) -> tuple[datetime, dict[str, str], dict[str, str]]:
    """The order's send time, and the send time and expiry of its emails and of its SMS."""
    send_time = max(draft.requested_send_time or now, now)
    email = {"sendTime": _iso(send_time), "expires": _iso(email_expires_at(send_time))}
    if draft.time_to_live_seconds is not None:
        expires = send_time + timedelta(seconds=draft.time_to_live_seconds)
    else:
        expires = sms_expires_at(send_time, draft.sending_time_policy)
    sms = {"sendTime": _iso(send_time), "expires": _iso(expires)}
    window = send_window()
    if draft.sending_time_policy == SendingTimePolicy.DAYTIME and window is not None:
        opening, shut_days = window.next_opening(send_time)
        sms["sendTime"] = _iso(opening)
        if shut_days:
            sms["sendTimeReason"] = "The send window is shut on " + "; ".join(shut_days) + "."
    return send_time, email, sms


def draft_preview(draft: DraftOrder, *, registry: ContactRegistry, now: datetime) -> dict[str, Any]:
    """The dry run of one order: summary over every recipient and the first notifications rendered."""
    send_time, email_times, sms_times = _times(draft, now)
    available = frozenset(
        kind
        for kind, template in ((EMAIL, draft.email_template), (SMS, draft.sms_template))
        if template is not None
    )
    preview = _Preview(
        draft=draft,
        available=available,
        email_times=email_times,
        sms_times=sms_times,
        sms_parts_of_template=sms_part_count(draft.sms_template.body) if draft.sms_template else 0,
    )
    for rows in _rows(draft.recipients):
        nins, orgnos, usernames = lookup_numbers(rows)
        try:
            persons = registry.persons(nins) if nins else {}
            organizations = registry.organizations(orgnos) if orgnos else {}
            identities = registry.external_identities(usernames) if usernames else {}
        except RegistryUnavailable as exc:
            raise DryRunRegistryUnavailable(
                "The contact registry could not be reached to resolve the recipients; try again later."
            ) from exc
        for row in rows:
            _render(
                preview,
                recipient_resolve(
                    row,
                    persons=persons,
                    organizations=organizations,
                    identities=identities,
                    ignore_reservation=draft.ignore_reservation,
                ),
            )
    body: dict[str, Any] = {}
    if draft.label:
        body["shipment"] = draft.label
    body.update(
        {
            "notificationChannel": draft.notification_channel,
            "sendingTimePolicy": draft.sending_time_policy,
            "requestedSendTime": _iso(send_time),
            "summary": {
                "recipients": len(draft.recipients),
                "notifications": preview.notifications,
                "email": preview.counts[EMAIL].as_json(),
                "sms": preview.counts[SMS].as_json(),
                "smsParts": preview.sms_parts,
                "servedByEarlierNotifications": preview.served_by_earlier,
            },
            "notifications": preview.sample,
            "truncated": preview.notifications > len(preview.sample),
        }
    )
    return body


def dry_run(
    drafts: Sequence[DraftOrder],
    *,
    warnings: Sequence[ContentWarning] = (),
    registry: ContactRegistry | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The answer to a dry run of a request of one or more orders; stores nothing, sends nothing.

    Raises DryRunRegistryUnavailable (503) when the contact registry cannot answer: without it the
    recipients cannot be resolved, which is what a dry run is for.
    """
    now = now or timezone.now()
    registry = registry or get_registry()
    body: dict[str, Any] = {
        "dryRun": True,
        "orders": [draft_preview(draft, registry=registry, now=now) for draft in drafts],
    }
    if warnings:
        body["warnings"] = warnings_json(warnings)
    return body


# --- The request shapes --------------------------------------------------------------------------------


def order_dry_run(
    *,
    notification_channel: str,
    recipients: Sequence[RecipientData],
    template_paths: TemplatePaths,
    requested_send_time: datetime | None = None,
    ignore_reservation: bool | None = None,
    email_template: EmailTemplateData | None = None,
    sms_template: SmsTemplateData | None = None,
    registry: ContactRegistry | None = None,
    **_stored_only: Any,
) -> dict[str, Any]:
    """The dry run of a v1 order (the validated request of ``POST /orders``, ``/orders/sms``, ...).

    Answers the receipt's ``recipientLookup`` and warnings as registration would. Arguments that only
    matter once stored (sender's reference, condition endpoint, callback URL, resource) are taken and
    not used.
    """
    registry = registry or get_registry()
    try:
        lookup = recipient_lookup_summarise(
            channel=notification_channel, recipients=recipients, registry=registry
        )
    except RegistryUnavailable as exc:
        raise DryRunRegistryUnavailable(
            "The contact registry could not be reached to resolve the recipients; try again later."
        ) from exc
    draft = DraftOrder(
        notification_channel=notification_channel,
        recipients=recipients,
        sending_time_policy=default_sending_time_policy(notification_channel),
        requested_send_time=requested_send_time,
        ignore_reservation=bool(ignore_reservation),
        email_template=email_template,
        sms_template=sms_template,
    )
    warnings = order_warnings(
        recipients=recipients,
        lookup=lookup,
        sms_template=sms_template,
        email_template=email_template,
        paths=template_paths,
    )
    body = dry_run([draft], warnings=warnings, registry=registry)
    if lookup is not None:
        body["recipientLookup"] = lookup.as_receipt()
    return body


def chain_dry_run(request: ChainRequest, *, registry: ContactRegistry | None = None) -> dict[str, Any]:
    """The dry run of an order chain: its notification and every reminder, each due at its own time.

    As registration: 422 NOT-00001 when a recipient has no contact information for its channel, 503
    NOT-00004 when the registry is down. The idempotencyId is not looked at: a dry run never answers
    with a stored receipt, nor keeps one.
    """
    registry = registry or get_registry()
    lookups = chain_lookups(request, registry)
    shipments = [request.main, *request.reminders]
    now = timezone.now()
    send_times = chain_send_times(request, now)
    drafts = [
        DraftOrder(
            notification_channel=shipment.notification_channel,
            recipients=[shipment.recipient],
            sending_time_policy=shipment.sending_time_policy,
            requested_send_time=send_time,
            ignore_reservation=bool(shipment.ignore_reservation),
            email_template=shipment.email_template,
            sms_template=shipment.sms_template,
            label="notification" if index == 0 else f"reminders[{index - 1}]",
        )
        for index, (shipment, send_time) in enumerate(zip(shipments, send_times, strict=True))
    ]
    warnings = [w for s, lookup in zip(shipments, lookups, strict=True) for w in shipment_warnings(s, lookup)]
    return dry_run(drafts, warnings=warnings, registry=registry, now=now)


def instant_dry_run(message: InstantSms | InstantEmail, **_stored_only: Any) -> dict[str, Any]:
    """The dry run of an instant order: the one message as it would be handed to the provider now."""
    if isinstance(message, InstantSms):
        draft = DraftOrder(
            notification_channel=NotificationChannel.SMS,
            recipients=[RecipientData(mobile_number=message.phone_number)],
            sending_time_policy=SendingTimePolicy.ANYTIME,
            sms_template=message.template,
            time_to_live_seconds=message.time_to_live_seconds,
        )
    else:
        draft = DraftOrder(
            notification_channel=NotificationChannel.EMAIL,
            recipients=[RecipientData(email_address=message.email_address)],
            sending_time_policy=SendingTimePolicy.ANYTIME,
            email_template=message.template,
        )
    return dry_run([draft], warnings=instant_warnings(message))
