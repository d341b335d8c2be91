"""Large SMS orders through the API: the numbers-only path answers and stores exactly what the general
path does (the same order with every recipient also carrying ``isReserved``, which the fast path's
mobile-number-only shape does not take, so it is decoded recipient by recipient)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from orders.idempotency import request_fingerprint
from orders.models import IdempotencyKey, Order, Recipient
from tests.orders.api.conftest import API

pytestmark = pytest.mark.django_db

COUNT = 2_000  # past the one-statement write and the decoder's numbers-only threshold


def _numbers() -> list[str]:
    return [f"+47{4 if n % 2 else 9}{n:07d}" if n % 7 else f"0047{9}{n:07d}" for n in range(COUNT)]


def _post(client: APIClient, recipients: list[Any], **headers: str) -> Any:
    body = {"body": "Hei", "sendersReference": "large", "recipients": recipients}
    return client.post(f"{API}/orders/sms", data=json.dumps(body), content_type="application/json", **headers)


def _rows(order_id: str) -> list[tuple[Any, ...]]:
    fields = [f.attname for f in Recipient._meta.concrete_fields if f.attname not in ("id", "order_id")]
    return list(Recipient.objects.filter(order_id=order_id).order_by("position").values_list(*fields))


def test_numbers_only_and_general_path_store_the_same_rows(api_client: APIClient) -> None:
    numbers = _numbers()
    fast = _post(api_client, [{"mobileNumber": n} for n in numbers])
    general = _post(api_client, [{"mobileNumber": n, "isReserved": False} for n in numbers])

    assert fast.status_code == general.status_code == 202
    fast_body, general_body = fast.json(), general.json()
    assert fast_body.keys() == general_body.keys() == {"orderId", "smsPartCount"}
    assert fast_body["smsPartCount"] == general_body["smsPartCount"]
    fast_rows = _rows(fast_body["orderId"])
    assert fast_rows == _rows(general_body["orderId"])
    assert [row[2] for row in fast_rows] == numbers  # (position, email, mobile, ...)


def test_a_bad_number_among_many_names_its_path(api_client: APIClient) -> None:
    recipients: list[Any] = [{"mobileNumber": n} for n in _numbers()]
    recipients[57] = {"mobileNumber": "+47 1"}
    answer = _post(api_client, recipients)

    assert answer.status_code == 400
    assert answer["Content-Type"] == "application/problem+json"
    errors = answer.json()["errors"]
    assert list(errors) == ["recipients[57].mobileNumber"]
    assert not Order.objects.filter(senders_reference="large").exists()


def test_two_numbers_in_one_string_are_refused(api_client: APIClient) -> None:
    recipients: list[Any] = [{"mobileNumber": n} for n in _numbers()]
    recipients[1_500] = {"mobileNumber": "+4799999999\n+4799999998"}
    answer = _post(api_client, recipients)

    assert answer.status_code == 400
    assert list(answer.json()["errors"]) == ["recipients[1500].mobileNumber"]


def test_idempotency_key_replays_a_large_order(api_client: APIClient) -> None:
    recipients = [{"mobileNumber": n} for n in _numbers()]
    first = _post(api_client, recipients, HTTP_IDEMPOTENCY_KEY="large-1")
    second = _post(api_client, recipients, HTTP_IDEMPOTENCY_KEY="large-1")
    other = _post(api_client, recipients[:-1], HTTP_IDEMPOTENCY_KEY="large-1")

    assert first.status_code == second.status_code == 202
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    assert Order.objects.filter(senders_reference="large").count() == 1
    assert Recipient.objects.filter(order_id=first.json()["orderId"]).count() == COUNT


# Bodies of one numbers-only order in other spellings: each must hash as Python's parser reads it.
_LARGE_BODIES = [
    # Other key order, spacing, escapes, non-ASCII text, null and false fields.
    lambda numbers: json.dumps(
        {
            "recipients": [{"mobileNumber": n} for n in numbers],
            "senderNumber": None,
            "body": 'Hei \u00e5 "deg"\n',
            "ignoreReservation": False,
            "sendersReference": "large",
        },
        indent=2,
    ),
    lambda numbers: json.dumps(
        {
            "body": "Hei å deg",
            "sendersReference": "large",
            "recipients": [{"mobileNumber": n} for n in numbers],
        },
        ensure_ascii=False,
    ),
    # A top-level key given twice: the parser keeps the last one.
    lambda numbers: (
        '{"body": "first", "sendersReference": "large", "body": "second", "recipients": '
        + json.dumps([{"mobileNumber": n} for n in numbers])
        + "}"
    ),
    # A text that names a key: decided by parsing the body as before, with the same answer.
    lambda numbers: json.dumps(
        {
            "body": "recipients",
            "sendersReference": "mobileNumber",
            "recipients": [{"mobileNumber": n} for n in numbers],
        }
    ),
]


@pytest.mark.parametrize("make_body", _LARGE_BODIES)
def test_the_fingerprint_of_a_large_order_is_that_of_the_parsed_body(
    api_client: APIClient, make_body: Any
) -> None:
    # Keys stored before the numbers-only fingerprint must keep matching their retries.
    body = make_body(_numbers())
    answer = api_client.post(
        f"{API}/orders/sms", data=body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="large-fp"
    )

    assert answer.status_code == 202
    stored = IdempotencyKey.objects.get(key="large-fp").request_hash
    assert stored == request_fingerprint(path=f"{API}/orders/sms", data=json.loads(body))


def test_another_creator_cannot_read_a_large_order(api_client: APIClient, other_client: APIClient) -> None:
    created = _post(api_client, [{"mobileNumber": n} for n in _numbers()])
    order_id = created.json()["orderId"]

    assert other_client.get(f"{API}/orders/{order_id}").status_code == 404
    assert api_client.get(f"{API}/orders/{order_id}").status_code == 200
