"""The fast path of ``POST /orders/sms`` and ``POST /orders/email``: the raw body decoded by msgspec into
typed structs and checked by the serializers' own rules, without DRF's per-field machinery.

It only ever *accepts*: for a request it accepts it returns exactly the ``validated_data`` the request's
serializer would (tests/orders/api/test_decoder.py compares the two on generated requests). For anything
else — any error, an unknown field, a stored template, an unusual content type, text PostgreSQL cannot
store — it returns ``None`` and the view runs the serializer, which writes the answer; so every problem
details body stays the serializer's by construction, and this module needs no messages of its own.

msgspec validates the JSON and the types in one pass in C. Every field of the request is declared and
unknown fields are refused (declined), so nothing of the body is skipped unread: what msgspec accepts,
Python's JSON parser (the serializer's path) accepts as the same document.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

import msgspec
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from msgspec import UNSET, UnsetType
from rest_framework.request import Request

from orders import validation
from orders.api.fields import latest_send_time
from orders.api.serializers.base import max_length_of
from orders.api.serializers.recipients import recipient_item_data, recipient_item_errors
from orders.api.serializers.requests import SEND_TIME_TOLERANCE_SECONDS, is_valid_status_callback_url
from orders.api.serializers.templates import CONTENT_TYPE_VALUES
from orders.idempotency import canonical_json
from orders.models import NotificationChannel, Order
from orders.services import MobileRecipients, RecipientData
from templates.models import SmsTemplate
from templates.records import EmailTemplateData, SmsTemplateData

_SENDERS_REFERENCE_COLUMN = max_length_of(Order, "senders_reference")
_RESOURCE_ID_MAX = max_length_of(Order, "resource_id")
_RESOURCE_ACTION_MAX = max_length_of(Order, "resource_action")
_SENDER_NUMBER_MAX = max_length_of(SmsTemplate, "sender_number")
_URL_MAX = 2000  # conditionEndpoint and statusCallbackUrl
_CONTENT_TYPES = {value.lower(): value for value in CONTENT_TYPE_VALUES}


class _Recipient(msgspec.Struct, rename="camel", forbid_unknown_fields=True, gc=False):
    # Null and absent mean the same to every recipient rule, so both are None here.
    email_address: str | None = None
    mobile_number: str | None = None
    organization_number: str | None = None
    national_identity_number: str | None = None
    is_reserved: bool | None = None  # ignored in requests, as by the serializer


class _Order(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    # UNSET: the field was left out, which the serializer reports differently from null (no key).
    recipients: list[_Recipient]
    senders_reference: str | None | UnsetType = UNSET
    requested_send_time: str | None | UnsetType = UNSET
    condition_endpoint: str | None | UnsetType = UNSET
    status_callback_url: str | None | UnsetType = UNSET
    ignore_reservation: bool | None | UnsetType = UNSET
    resource_id: str | None | UnsetType = UNSET
    resource_action: str | None | UnsetType = UNSET
    # A stored template is read from the database by the serializer: any of these declines.
    template_id: str | None = None
    template_version: int | None = None
    personalisation: dict[str, str] | None = None


class _SmsOrder(_Order, rename="camel", forbid_unknown_fields=True):
    body: str = ""
    sender_number: str | None = None


class _EmailOrder(_Order, rename="camel", forbid_unknown_fields=True):
    subject: str = ""
    body: str = ""
    content_type: str | int | None = None


class _MobileOnly(msgspec.Struct, rename="camel", forbid_unknown_fields=True, gc=False):
    mobile_number: str


class _MobileOnlySmsOrder(_SmsOrder, rename="camel", forbid_unknown_fields=True):
    # The shape of nearly every large order: each recipient a mobile number and nothing else. Any other
    # recipient (another field, even null; no number) fails this decoder and the general one decides.
    recipients: list[_MobileOnly]  # type: ignore[assignment]


_SMS_DECODER = msgspec.json.Decoder(_SmsOrder)
_MOBILE_ONLY_SMS_DECODER = msgspec.json.Decoder(_MobileOnlySmsOrder)
# From this body size on an SMS order is tried as mobile-number-only first (about 500 recipients); a
# smaller one goes straight to the general decoder, as it always did.
MOBILE_ONLY_MIN_BODY = 16_384
# Every number of a list joined by newlines in one match, in C: a million times fewer calls than one
# fullmatch per number. PLAIN_MOBILE_NUMBER matches no newline, so each line must be one whole number.
_PLAIN_NUMBER_LINES = re.compile(
    rf"(?:(?:{validation.PLAIN_MOBILE_NUMBER.pattern})\n)*(?:{validation.PLAIN_MOBILE_NUMBER.pattern})",
    validation.PLAIN_MOBILE_NUMBER.flags,
)
_EMAIL_DECODER = msgspec.json.Decoder(_EmailOrder)
# The top level of a document with each value left as its JSON text (the last of a repeated key, as
# Python's parser keeps it).
_TOP_LEVEL = msgspec.json.Decoder(dict[str, msgspec.Raw])


class _Declined(Exception):
    """The serializer must decide this request."""


def _body(request: Request) -> bytes | None:
    """The raw body when DRF would parse it as UTF-8 JSON within the size limit, else None."""
    django_request: HttpRequest = request._request
    if django_request.content_type != "application/json":
        return None
    params = django_request.content_params
    if params and (len(params) != 1 or params.get("charset", "").lower() != "utf-8"):
        return None
    if settings.DEFAULT_CHARSET.lower() != "utf-8":
        return None
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        declared = int(django_request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if limit is not None and declared > limit:
        return None
    try:
        body = django_request.body
    except RequestDataTooBig:
        return None
    if limit is not None and len(body) > limit:
        return None
    # NUL can only come from an escape (JSON has no raw control characters, msgspec refuses lone
    # surrogates); the parser answers it, naming every field that holds one.
    if b"\\u0000" in body:
        return None
    return body


def decode_sms_order(request: Request) -> dict[str, Any] | None:
    """The validated data of an SMS order request, or None when the serializer must decide."""
    body = _body(request)
    if body is None:
        return None
    try:
        order = _sms_order(body)
        attrs = _order_attrs(order, NotificationChannel.SMS, address_at_recipient=False)
        text = order.body
        if not text.strip() or len(text) > settings.NOTIFICATIONS_MAX_SMS_BODY_CHARS:
            raise _Declined
        sender = _sms_sender(order.sender_number)
    except (msgspec.DecodeError, RecursionError, _Declined):
        return None
    attrs["notification_channel"] = NotificationChannel.SMS
    attrs["sms_template"] = SmsTemplateData(body=text, sender_number=sender)
    return attrs


def _sms_order(body: bytes) -> _SmsOrder:
    if len(body) >= MOBILE_ONLY_MIN_BODY:
        try:
            return _MOBILE_ONLY_SMS_DECODER.decode(body)
        except msgspec.ValidationError:
            pass  # a recipient of another shape (or any other type error): the general decoder decides
    return _SMS_DECODER.decode(body)


def decode_email_order(request: Request) -> dict[str, Any] | None:
    """The validated data of an email order request, or None when the serializer must decide."""
    body = _body(request)
    if body is None:
        return None
    try:
        order = _EMAIL_DECODER.decode(body)
        attrs = _order_attrs(order, NotificationChannel.EMAIL, address_at_recipient=True)
        subject, text = order.subject, order.body
        if not subject.strip() or len(subject) > settings.NOTIFICATIONS_MAX_EMAIL_SUBJECT_CHARS:
            raise _Declined
        if not text.strip() or len(text) > settings.NOTIFICATIONS_MAX_EMAIL_BODY_CHARS:
            raise _Declined
        content_type = _content_type(order.content_type)
    except (msgspec.DecodeError, RecursionError, _Declined):
        return None
    attrs["notification_channel"] = NotificationChannel.EMAIL
    attrs["email_template"] = EmailTemplateData(
        subject=validation.fold_subject_newlines(subject), body=text, content_type=content_type
    )
    return attrs


def _order_attrs(order: _Order, channel: str, *, address_at_recipient: bool) -> dict[str, Any]:
    """The fields every v1 order shares, as OrderRequestBaseSerializer validates them."""
    if order.template_id is not None or order.template_version is not None:
        raise _Declined
    if order.personalisation is not None:
        raise _Declined
    attrs: dict[str, Any] = {}
    max_reference = min(settings.NOTIFICATIONS_MAX_SENDERS_REFERENCE_CHARS, _SENDERS_REFERENCE_COLUMN)
    if order.senders_reference is not UNSET:
        attrs["senders_reference"] = _text(order.senders_reference, max_reference)
    if order.requested_send_time is not UNSET:
        attrs["requested_send_time"] = _send_time(order.requested_send_time)
    if order.condition_endpoint is not UNSET:
        endpoint = _text(order.condition_endpoint, _URL_MAX)
        if endpoint is not None and not validation.is_valid_condition_endpoint(endpoint):
            raise _Declined
        attrs["condition_endpoint"] = endpoint
    if order.status_callback_url is not UNSET:
        url = _text(order.status_callback_url, _URL_MAX)
        allow_http = settings.NOTIFICATIONS_CALLBACK_ALLOW_HTTP
        if url is not None and not is_valid_status_callback_url(url, allow_http=allow_http):
            raise _Declined
        attrs["status_callback_url"] = url
    if order.ignore_reservation is not UNSET:
        attrs["ignore_reservation"] = order.ignore_reservation
    resource, action = order.resource_id, order.resource_action
    resource_given = isinstance(resource, str) and bool(resource.strip())
    if resource_given and not validation.is_valid_resource_id(str(resource)):
        raise _Declined
    if isinstance(action, str) and (not action.strip() or not resource_given):
        raise _Declined
    if resource is not UNSET:
        attrs["resource_id"] = _text(resource, _RESOURCE_ID_MAX)
    if action is not UNSET:
        attrs["resource_action"] = _text(action, _RESOURCE_ACTION_MAX)
    attrs["recipients"] = _recipients(order.recipients, channel, address_at_recipient)
    return attrs


def _text(value: str | None, max_length: int) -> str | None:
    # An optional text: kept as sent, "" stored as None (the serializers' validate()).
    if value is not None and len(value) > max_length:
        raise _Declined
    return value or None


def _send_time(value: str | None) -> datetime | None:
    # SendTimeField: an ISO-8601 time with an offset, in UTC, at most five minutes past and not too late.
    if value is None:
        return None
    try:
        parsed = parse_datetime(value.strip())
    except ValueError:
        raise _Declined from None
    if parsed is None or parsed.utcoffset() is None:
        raise _Declined
    try:
        send_time = parsed.astimezone(UTC)
    except OverflowError:
        raise _Declined from None
    if (timezone.now() - send_time).total_seconds() > SEND_TIME_TOLERANCE_SECONDS:
        raise _Declined
    if send_time > latest_send_time():
        raise _Declined
    return send_time


def _sms_sender(value: str | None) -> str | None:
    # SenderField with the SMS rule: blank means the default (None); anything else valid, trimmed.
    if not value:
        return None
    if len(value) > _SENDER_NUMBER_MAX:
        raise _Declined
    if validation.is_blank_sender(value):
        return None
    if not validation.is_valid_sms_sender(value):
        raise _Declined
    return value.strip() or None


def _content_type(value: str | int | None) -> str:
    # EnumField: a member name in any case, or its index; left out or null means Plain.
    if value is None:
        return "Plain"
    if isinstance(value, str):
        if value.lower() in _CONTENT_TYPES:
            return _CONTENT_TYPES[value.lower()]
        raise _Declined
    if 0 <= value < len(CONTENT_TYPE_VALUES):
        return CONTENT_TYPE_VALUES[value]
    raise _Declined


def _recipients(
    recipients: list[_Recipient] | list[_MobileOnly], channel: str, address_at_recipient: bool
) -> Sequence[RecipientData]:
    """RecipientsField: every recipient valid for ``channel``, as registered."""
    if not recipients or len(recipients) > settings.NOTIFICATIONS_MAX_RECIPIENTS_PER_ORDER:
        raise _Declined
    if recipients and type(recipients[0]) is _MobileOnly:
        return _mobile_only_recipients(cast(list[_MobileOnly], recipients), channel, address_at_recipient)
    return _general_recipients(cast(list[_Recipient], recipients), channel, address_at_recipient)


def _mobile_only_recipients(
    recipients: list[_MobileOnly], channel: str, address_at_recipient: bool
) -> Sequence[RecipientData]:
    numbers = [recipient.mobile_number for recipient in recipients]
    joined = "\n".join(numbers)
    if joined.count("\n") == len(numbers) - 1 and _PLAIN_NUMBER_LINES.fullmatch(joined):
        # Every number in the plain Norwegian form: valid, and held without an object per recipient.
        return MobileRecipients(numbers)
    # Some number in another form: each decided as the serializer decides it.
    plain = validation.PLAIN_MOBILE_NUMBER.fullmatch
    result: list[RecipientData] = []
    for number in numbers:
        if not plain(number):
            item = {"mobileNumber": number}
            if recipient_item_errors(item, channel, address_at_recipient):
                raise _Declined
        result.append(RecipientData(mobile_number=number))
    return result


def _general_recipients(
    recipients: list[_Recipient], channel: str, address_at_recipient: bool
) -> list[RecipientData]:
    plain = validation.PLAIN_MOBILE_NUMBER.fullmatch if channel != NotificationChannel.EMAIL else None
    result: list[RecipientData] = []
    append = result.append
    for recipient in recipients:
        number = recipient.mobile_number
        if (
            plain is not None
            and number is not None
            and recipient.email_address is None
            and recipient.organization_number is None
            and recipient.national_identity_number is None
            and plain(number)
        ):
            # The common case of a large order: a plain Norwegian mobile number and nothing else.
            append(RecipientData(mobile_number=number))
            continue
        fields = (
            ("emailAddress", recipient.email_address),
            ("mobileNumber", number),
            ("organizationNumber", recipient.organization_number),
            ("nationalIdentityNumber", recipient.national_identity_number),
        )
        # The serializer's own rules on the recipient as sent (null and absent alike).
        item = {name: value for name, value in fields if value is not None}
        if recipient_item_errors(item, channel, address_at_recipient):
            raise _Declined
        append(recipient_item_data(item))
    return result


def mobile_only_canonical_json(request: Request, recipients: Sequence[RecipientData]) -> str | None:
    """``canonical_json`` of the parsed body of a numbers-only order, without parsing its recipients again.

    For the Idempotency-Key's fingerprint: parsing 100,000 recipients into dictionaries and dumping them
    again cost more than decoding the order. Only for ``MobileRecipients`` from ``decode_sms_order``:
    their list's canonical text is known from the numbers alone (one key each, and a plain number needs
    no escape). Every other top-level value is parsed and dumped as before. None (parse it as before)
    when the text could hold a key twice, where the decoders might not keep the value the parser keeps.
    """
    if not isinstance(recipients, MobileRecipients):
        return None
    body: bytes = request._request.body
    numbers = recipients.numbers
    if body.count(b'"recipients"') != 1 or body.count(b'"mobileNumber"') != len(numbers):
        return None
    fields = _TOP_LEVEL.decode(body)
    parts = []
    for key in sorted(fields):
        if key == "recipients":
            value = '[{"mobileNumber":"' + '"},{"mobileNumber":"'.join(numbers) + '"}]'
        else:
            value = canonical_json(msgspec.json.decode(fields[key]))
        parts.append(f"{canonical_json(key)}:{value}")
    return "{" + ",".join(parts) + "}"
