"""The compiled fast path of the SMS and email order requests (orders.api.decoder) against the serializers.

For every request it either declines (None) or returns exactly the serializer's ``validated_data``; every
request the serializer (or the JSON parser before it) refuses, it declines. Requests are generated: a valid
order with each field left out, null, valid, invalid or of a wrong type, recipients of every kind, unknown
fields, duplicate keys, escapes, broken bytes and other content types.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.exceptions import RequestDataTooBig
from django.test import override_settings
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from core.auth import ServiceOwner
from orders.api.base import json_body
from orders.api.decoder import MOBILE_ONLY_MIN_BODY, decode_email_order, decode_sms_order
from orders.api.parsers import BoundedJSONParser
from orders.api.serializers import (
    EmailNotificationOrderRequestSerializer,
    OrderRequestBaseSerializer,
    SmsNotificationOrderRequestSerializer,
)
from orders.services import MobileRecipients
from orders.validation import PLAIN_MOBILE_NUMBER

# A templateId sends the serializer to the database for the stored template (found or not).
pytestmark = pytest.mark.django_db

NOW = datetime(2030, 6, 1, 10, 0, tzinfo=UTC)
Decoder = Callable[[Request], dict[str, Any] | None]
SMS = (SmsNotificationOrderRequestSerializer, decode_sms_order)
EMAIL = (EmailNotificationOrderRequestSerializer, decode_email_order)


def _request(body: bytes, content_type: str) -> Request:
    django_request = APIRequestFactory().post("/orders/sms", data=body, content_type=content_type)
    request = Request(django_request, parsers=[BoundedJSONParser()])
    # Authenticated as the views' requests are: a stored template is looked up for its creator.
    request.user = ServiceOwner(org="ttd")
    return request


def compare(
    kind: tuple[type[OrderRequestBaseSerializer], Decoder],
    body: bytes,
    content_type: str = "application/json",
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(fast path's answer, serializer's validated data or None when it refuses), asserted consistent."""
    serializer_class, decoder = kind
    fast = decoder(_request(body, content_type))
    request = _request(body, content_type)
    slow: dict[str, Any] | None
    try:
        serializer = serializer_class(data=json_body(request, what="order"), context={"request": request})
        slow = dict(serializer.validated_data) if serializer.is_valid() else None
    except (APIException, RequestDataTooBig):
        slow = None
    if fast is not None:
        assert slow is not None, f"the fast path accepted what the serializer refuses: {body[:300]!r}"
        assert fast == slow, body[:300]
    return fast, slow


# Values of each field: valid ones first, then the hostile ones.
TEXTS = [
    "Hei",
    "Hei $recipientName$, ditt nummer er $recipientNumber$",
    "Æ, ø og å 😀 مرحبا",
    "line\r\nbreak",
    "  padded  ",
    "",
    "   ",
    "\t\n",
    "a\x00b",
    "\ud800",
    "x" * 1601,
    "x" * 10_001,
]
WRONG_TYPES: list[Any] = [None, 1, 0, -1, 1.5, True, False, [], {}, ["a"], {"a": 1}, 10**40, 2**63]
SEND_TIMES = [
    (NOW + timedelta(days=1)).isoformat(),
    (NOW + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    (NOW + timedelta(hours=1)).astimezone().isoformat(),
    "2030-06-01T12:30:00+02:00",
    "2030-06-01T09:00:00-05:00",
    "2030-06-02T10:00:00.1234567+01:00",
    "2030-06-02T10:00:00.123456789012+01:00",
    " 2030-06-02T10:00:00Z ",
    "2030-06-01T09:56:00Z",  # four minutes ago: within the tolerance
    "2030-06-01T09:54:00Z",  # six minutes ago
    "2030-06-02T10:00:00",  # no offset
    "2030-06-02",
    "2030-13-02T10:00:00Z",
    "2040-06-02T10:00:00Z",  # beyond 3650 days
    "9999-12-31T23:00:00-05:00",
    "tomorrow",
    "",
]
MOBILES = [
    "+4799999999",
    "+4741234567",
    "004799999999",
    "+46701234567",
    "+4712345678",
    "+47 999",
    "99999999",
    "",
]
EMAILS = ["a@b.no", " a@b.no ", "ola.nordmann@example.com", "a;b@c.no", "no-at", "", "x" * 400 + "@b.no"]
NINS = ["11876995923", "1187699592", "1187699592x", "", "١١٨٧٦٩٩٥٩٢٣"]
ORGNOS = ["311000179", "31100017", "31100017a", ""]
SENDERS = [
    "Altinn",
    "+4799999999",
    "12345",
    "  ",
    "",
    "Ålesund",
    "TOOLONGNAME1",
    "a\tb",
    " Altinn ",
    "Ω",
    "1" * 16,
]
CONTENT_TYPES: list[Any] = ["Plain", "html", "HTML", "Html", 0, 1, 2, -1, "", "text", True, 1.0, None]
ENDPOINTS = [
    "https://vg.no/condition",
    "http://example.com/x?y=1",
    "http://localhost/x",
    "https://127.0.0.1/x",
    "ftp://a.no/x",
    " https://a.no/x",
    "https://a.no:99999/x",
    "",
    "https://a.no/" + "x" * 2000,
]
RESOURCES = ["urn:altinn:resource:app", "urn:altinn:resource:", "urn:altinn:resource:  ", "other", "", "   "]
ACTIONS = ["read", "", "  ", "write"]


def recipients() -> st.SearchStrategy[Any]:
    field_values = {
        "mobileNumber": MOBILES,
        "emailAddress": EMAILS,
        "nationalIdentityNumber": NINS,
        "organizationNumber": ORGNOS,
        "isReserved": [True, False, None, "yes", 1],
    }
    recipient = st.dictionaries(
        st.sampled_from([*field_values, "unknown"]),
        st.one_of(st.sampled_from(WRONG_TYPES), st.sampled_from(MOBILES + EMAILS + NINS + ORGNOS)),
        max_size=3,
    )
    plain = st.sampled_from(MOBILES[:3]).map(lambda number: {"mobileNumber": number})
    email = st.sampled_from(EMAILS[:3]).map(lambda address: {"emailAddress": address})
    person = st.sampled_from(NINS[:1]).map(lambda nin: {"nationalIdentityNumber": nin})
    organization = st.sampled_from(ORGNOS[:1]).map(lambda orgno: {"organizationNumber": orgno})
    item = st.one_of(plain, plain, email, person, organization, recipient, st.sampled_from(WRONG_TYPES))
    return st.one_of(st.lists(item, min_size=1, max_size=6), st.sampled_from(WRONG_TYPES))


OPTIONAL = {
    "sendersReference": st.one_of(st.sampled_from(TEXTS), st.just("r" * 501)),
    "requestedSendTime": st.sampled_from(SEND_TIMES),
    "conditionEndpoint": st.sampled_from(ENDPOINTS),
    "statusCallbackUrl": st.sampled_from(ENDPOINTS),
    "ignoreReservation": st.sampled_from([True, False]),
    "resourceId": st.sampled_from(RESOURCES),
    "resourceAction": st.sampled_from(ACTIONS),
    "templateId": st.sampled_from(["0b0c9d5e-7e1c-4b39-9d64-7b4f1c0f3d2a", "not-a-uuid"]),
    "templateVersion": st.sampled_from([1, 0]),
    "personalisation": st.sampled_from([{"name": "Ola"}, {}]),
}
SMS_FIELDS = {"body": st.sampled_from(TEXTS), "senderNumber": st.sampled_from(SENDERS)}
EMAIL_FIELDS = {
    "subject": st.sampled_from(TEXTS),
    "body": st.sampled_from(TEXTS),
    "contentType": st.sampled_from(CONTENT_TYPES),
}
# Mostly the valid value, so that many generated requests are accepted; sometimes a hostile one.
VALID = {
    "body": "Hei $recipientName$",
    "subject": "Varsel",
    "senderNumber": "Altinn",
    "contentType": "Html",
    "sendersReference": "ref-1",
    "requestedSendTime": SEND_TIMES[0],
    "conditionEndpoint": ENDPOINTS[0],
    "statusCallbackUrl": ENDPOINTS[0],
    "ignoreReservation": True,
    "resourceId": RESOURCES[0],
    "resourceAction": ACTIONS[0],
}


@st.composite
def order_bodies(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[Any]]) -> bytes:
    order: dict[str, Any] = {}
    for name, values in {**fields, **OPTIONAL}.items():
        choice = draw(st.sampled_from(["absent", "valid", "valid", "null", "drawn", "drawn", "wrong"]))
        if choice == "absent":
            continue
        if choice == "valid":
            if name in VALID:
                order[name] = VALID[name]
        elif choice == "null":
            order[name] = None
        elif choice == "drawn":
            order[name] = draw(values)
        else:
            order[name] = draw(st.sampled_from(WRONG_TYPES))
    if name := draw(st.sampled_from([None, None, None, "extra", "Body", "recipients "])):
        order[name] = draw(st.sampled_from(["x", 1, None, 10**30]))
    order["recipients"] = draw(recipients())
    text = json.dumps(order, ensure_ascii=draw(st.booleans()))
    mutation = draw(st.sampled_from([None] * 8 + ["duplicate", "truncate", "byte", "nan", "bom", "huge"]))
    raw = text.encode("utf-8", "surrogatepass")  # a lone surrogate as raw bytes: invalid UTF-8
    if mutation == "duplicate" and len(order) > 1:
        key = draw(st.sampled_from(sorted(order)))
        raw = b'{"%s": %s, ' % (key.encode(), json.dumps(draw(st.sampled_from(TEXTS))).encode()) + raw[1:]
    elif mutation == "truncate":
        raw = raw[: draw(st.integers(0, len(raw) - 1))]
    elif mutation == "byte":
        at = draw(st.integers(0, len(raw) - 1))
        raw = (
            raw[:at]
            + bytes([draw(st.sampled_from([0, 0xFF, 0xC3, ord("\\"), ord('"'), ord("\n")]))])
            + raw[at:]
        )
    elif mutation == "nan":
        raw = raw[:-1] + b', "extra": NaN}'
    elif mutation == "bom":
        raw = b"\xef\xbb\xbf" + raw
    elif mutation == "huge":
        raw = raw[:-1] + b', "ignoreReservation": ' + b"9" * 5000 + b"}"
    return raw


@pytest.fixture(autouse=True)
def _frozen_time() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order_bodies(SMS_FIELDS))
def test_sms_orders_fast_path_agrees_with_the_serializer(body: bytes) -> None:
    fast, slow = compare(SMS, body)
    event("fast path" if fast is not None else "serializer accepts" if slow is not None else "refused")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order_bodies(EMAIL_FIELDS))
def test_email_orders_fast_path_agrees_with_the_serializer(body: bytes) -> None:
    fast, slow = compare(EMAIL, body)
    event("fast path" if fast is not None else "serializer accepts" if slow is not None else "refused")


def _valid_sms(**fields: Any) -> dict[str, Any]:
    return {"body": "Hei", "recipients": [{"mobileNumber": "+4799999999"}], **fields}


def test_the_common_requests_take_the_fast_path() -> None:
    # The documented examples and the benchmark's shape: accepted, and equal to the serializer's data.
    cases = [
        (SMS, _valid_sms()),
        (SMS, _valid_sms(senderNumber=" Altinn ", sendersReference="", requestedSendTime=SEND_TIMES[1])),
        (
            SMS,
            _valid_sms(
                recipients=[{"nationalIdentityNumber": "11876995923"}, {"organizationNumber": "311000179"}]
            ),
        ),
        (
            SMS,
            _valid_sms(
                recipients=[{"mobileNumber": "+46701234567", "isReserved": True, "emailAddress": None}]
            ),
        ),
        (EMAIL, {"subject": "S\r\nT", "body": "B", "recipients": [{"emailAddress": " a@b.no "}]}),
        (EMAIL, {"subject": "S", "body": "B", "contentType": 1, "recipients": [{"emailAddress": "a@b.no"}]}),
        (SMS, {**_valid_sms(), **{k: v for k, v in VALID.items() if k not in ("subject", "contentType")}}),
    ]
    for kind, order in cases:
        for ensure_ascii in (True, False):
            fast, slow = compare(kind, json.dumps(order, ensure_ascii=ensure_ascii).encode())
            assert fast is not None, order
            assert fast == slow


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", "application/json; charset=UTF-8"],
)
def test_utf8_content_types_take_the_fast_path(content_type: str) -> None:
    fast, _ = compare(SMS, json.dumps(_valid_sms(body="Blåbær")).encode(), content_type)
    assert fast is not None


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=latin-1",
        "text/plain",
        "application/json; charset=utf-8; x=y",
        "application/jsonx",
    ],
)
def test_other_content_types_are_left_to_the_serializer(content_type: str) -> None:
    fast, _ = compare(SMS, json.dumps(_valid_sms(body="Blåbær")).encode("latin-1"), content_type)
    assert fast is None


def test_refusals_are_declined() -> None:
    for body in [
        _valid_sms(body=""),
        _valid_sms(recipients=[]),
        _valid_sms(recipients=[{"mobileNumber": "+4799999999"}, {"mobileNumber": "123"}]),
        _valid_sms(senderNumber="a\x00b"),
        _valid_sms(extra="\x00"),
        _valid_sms(templateId="0b0c9d5e-7e1c-4b39-9d64-7b4f1c0f3d2a"),
        _valid_sms(requestedSendTime="2030-06-01T09:54:59Z"),
        _valid_sms(resourceAction="read"),
    ]:
        fast, slow = compare(SMS, json.dumps(body).encode())
        assert (fast, slow) == (None, None), body


def test_unknown_fields_are_left_to_the_serializer() -> None:
    fast, slow = compare(SMS, json.dumps(_valid_sms(unknown=1)).encode())
    assert fast is None
    assert slow is not None


@override_settings(
    NOTIFICATIONS_MAX_SMS_BODY_CHARS=5,
    NOTIFICATIONS_MAX_SENDERS_REFERENCE_CHARS=3,
    NOTIFICATIONS_MAX_RECIPIENTS_PER_ORDER=2,
    NOTIFICATIONS_CALLBACK_ALLOW_HTTP=True,
)
def test_limits_follow_the_settings() -> None:
    assert compare(SMS, json.dumps(_valid_sms(body="123456")).encode()) == (None, None)
    assert compare(SMS, json.dumps(_valid_sms(sendersReference="abcd")).encode()) == (None, None)
    three = [{"mobileNumber": "+4799999999"}] * 3
    assert compare(SMS, json.dumps(_valid_sms(recipients=three)).encode()) == (None, None)
    fast, slow = compare(SMS, json.dumps(_valid_sms(statusCallbackUrl="http://a.no/cb")).encode())
    assert fast is not None
    assert fast == slow


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=200)
def test_a_body_over_the_size_limit_is_left_to_the_parser() -> None:
    body = json.dumps(_valid_sms(body="x" * 300)).encode()
    assert compare(SMS, body) == (None, None)


@pytest.mark.parametrize("kind", [SMS, EMAIL], ids=["sms", "email"])
def test_large_recipient_lists_agree(kind: tuple[type[OrderRequestBaseSerializer], Decoder]) -> None:
    rng = random.Random(7)
    pool = [
        {"mobileNumber": "+4799999999"},
        {"mobileNumber": "+4741234567"},
        {"mobileNumber": "+46701234567"},
        {"emailAddress": "a@b.no"},
        {"emailAddress": " ola@example.com", "mobileNumber": "+4799999999"},
        {"nationalIdentityNumber": "11876995923"},
        {"organizationNumber": "311000179", "isReserved": False},
    ]
    # Only recipients the channel accepts (an email address alone is no SMS recipient, and the reverse).
    channel_field = "emailAddress" if kind is EMAIL else "mobileNumber"
    other_field = "mobileNumber" if kind is EMAIL else "emailAddress"
    pool = [item for item in pool if channel_field in item or other_field not in item]
    many = [rng.choice(pool) for _ in range(20_000)]
    order = (
        {"subject": "S", "body": "B", "recipients": many} if kind is EMAIL else _valid_sms(recipients=many)
    )
    fast, slow = compare(kind, json.dumps(order).encode())
    assert fast is not None
    assert fast == slow
    # One bad recipient anywhere makes it the serializer's.
    many[rng.randrange(len(many))] = {"mobileNumber": "+47"} if kind is SMS else {"emailAddress": "x"}
    assert compare(kind, json.dumps(order).encode()) == (None, None)


# Numbers beside the plain form in a large order: other valid forms, invalid ones, and ones that would
# fool a check of the numbers joined by newlines.
LARGE_ORDER_MOBILES: list[Any] = [
    *MOBILES,
    "+4790000000",
    "+47 99999999",
    "+4799999999\n",
    "\n+4799999999",
    "+4799999999\n+4799999998",
    "+4799999999\t",
    "+479999999",
    "+47٩٩٩٩٩٩٩٩",
    "+47" + "9" * 40,
    None,
    47,
]


# Recipients of other shapes: valid ones of the general decoder, and refused ones.
LARGE_ORDER_SHAPES: list[Any] = [
    {"mobileNumber": "+4799999999", "isReserved": True},
    {"mobileNumber": "+4799999999", "emailAddress": None},
    {"mobileNumber": "+4799999999", "emailAddress": "a@b.no"},
    {"nationalIdentityNumber": NINS[0]},
    {"organizationNumber": ORGNOS[0]},
    {"emailAddress": "a@b.no"},
    {"mobileNumber": "+4799999999", "unknown": 1},
    {},
    "+4799999999",
    None,
]


# Starts of Norwegian mobile numbers (libphonenumber: 4[015-8] and 9), two digits each.
MOBILE_STARTS = ["40", "41", "45", "46", "47", "48", "90", "93", "99"]


@st.composite
def large_sms_bodies(draw: st.DrawFn) -> bytes:
    """An SMS order of 600 to 900 recipients (over MOBILE_ONLY_MIN_BODY), nearly all plain numbers, with a
    few others at drawn places: other numbers, other recipient shapes, wrong types."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    count = draw(st.integers(600, 900))
    recipients: list[Any] = [
        {
            "mobileNumber": rng.choice(["+47", "0047"])
            + rng.choice(MOBILE_STARTS)
            + f"{rng.randrange(10**6):06d}"
        }
        for _ in range(count)
    ]
    odd = st.one_of(
        st.sampled_from(LARGE_ORDER_MOBILES).map(lambda number: {"mobileNumber": number}),
        st.sampled_from(LARGE_ORDER_SHAPES),
    )
    for item in draw(st.lists(odd, max_size=2)):
        recipients.insert(draw(st.integers(0, len(recipients))), item)
    order: dict[str, Any] = {"recipients": recipients}
    for name, values in {**SMS_FIELDS, "sendersReference": OPTIONAL["sendersReference"]}.items():
        choice = draw(st.sampled_from(["absent", "valid", "valid", "valid", "drawn"]))
        if choice == "valid" and name in VALID:
            order[name] = VALID[name]
        elif choice == "drawn":
            order[name] = draw(values)
    order.setdefault("body", "Hei")
    raw = json.dumps(order, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
    if draw(st.sampled_from([False] * 9 + [True])):
        at = draw(st.integers(0, len(raw) - 1))
        raw = raw[:at] + bytes([draw(st.sampled_from([0xFF, ord('"'), ord("\\"), ord(",")]))]) + raw[at:]
    return raw


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(large_sms_bodies())
def test_large_sms_orders_fast_path_agrees_with_the_serializer(body: bytes) -> None:
    assert len(body) >= MOBILE_ONLY_MIN_BODY
    fast, slow = compare(SMS, body)
    if fast is not None:
        plain = all(
            list(item) == ["mobileNumber"] and PLAIN_MOBILE_NUMBER.fullmatch(item["mobileNumber"])
            for item in json.loads(body)["recipients"]
        )
        # Held as numbers exactly when every recipient is a plain number alone.
        assert isinstance(fast["recipients"], MobileRecipients) == plain
    event("fast path" if fast is not None else "serializer accepts" if slow is not None else "refused")


def test_a_large_order_of_plain_numbers_is_held_as_numbers() -> None:
    numbers = [f"+4799{n:06d}" for n in range(2_000)]
    fast, slow = compare(
        SMS, json.dumps(_valid_sms(recipients=[{"mobileNumber": n} for n in numbers])).encode()
    )
    assert fast is not None
    assert fast == slow
    assert isinstance(fast["recipients"], MobileRecipients)
    assert fast["recipients"].numbers == numbers


@pytest.mark.parametrize(
    ("odd", "accepted"),
    [
        ({"mobileNumber": "+46701234567"}, True),  # valid, not plain: decided by libphonenumber
        ({"mobileNumber": "+47 99999999"}, True),
        ({"mobileNumber": "+4799999999", "isReserved": False}, True),  # another shape: general decoder
        ({"mobileNumber": "+4799999999\n+4799999998"}, False),  # two plain numbers in one string
        ({"mobileNumber": "+4799999999\n"}, True),  # libphonenumber strips it; stored as given
        ({"mobileNumber": ""}, False),
        ({"mobileNumber": None}, False),
    ],
)
def test_one_odd_recipient_among_plain_ones(odd: dict[str, Any], accepted: bool) -> None:
    many: list[dict[str, Any]] = [{"mobileNumber": f"+4799{n:06d}"} for n in range(1_000)]
    many.insert(57, odd)
    fast, slow = compare(SMS, json.dumps(_valid_sms(recipients=many)).encode())
    assert (fast is not None) == accepted
    assert (slow is not None) == accepted
    if fast is not None:
        assert not isinstance(fast["recipients"], MobileRecipients)
        assert fast == slow
