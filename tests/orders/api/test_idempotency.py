"""Idempotent order creation with the Idempotency-Key header."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from orders.idempotency import (
    IdempotencyKeyInFlight,
    idempotency_claim,
    idempotency_complete,
    idempotency_keys_purge,
    request_fingerprint,
)
from orders.models import IdempotencyKey, Order
from tests.factories import OrderFactory
from tests.orders.api.conftest import API

SMS_ORDER: dict[str, Any] = {
    "sendersReference": "ref-idem",
    "body": "Hello",
    "recipients": [{"mobileNumber": "+4799999999"}],
}


def _post(client: APIClient, body: dict[str, Any], key: str | None, path: str = "/orders/sms") -> Any:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(f"{API}{path}", data=json.dumps(body), content_type="application/json", **headers)


pytestmark = pytest.mark.django_db


def test_replay_returns_the_first_response_and_registers_one_order(api_client: APIClient) -> None:
    first = _post(api_client, SMS_ORDER, "key-1")
    second = _post(api_client, SMS_ORDER, "key-1")

    assert first.status_code == second.status_code == 202
    assert second.json() == first.json()
    assert second["Location"] == first["Location"]
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Order.objects.filter(creator="ttd", senders_reference="ref-idem").count() == 1


def test_replay_matches_the_same_json_with_other_key_order_and_spacing(api_client: APIClient) -> None:
    first = _post(api_client, SMS_ORDER, "key-2")
    reordered = dict(reversed(list(SMS_ORDER.items())))
    second = api_client.post(
        f"{API}/orders/sms",
        data=json.dumps(reordered, indent=4),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="key-2",
    )
    assert second.status_code == 202
    assert second.json()["orderId"] == first.json()["orderId"]


def test_same_key_with_a_different_body_is_422(api_client: APIClient) -> None:
    assert _post(api_client, SMS_ORDER, "key-3").status_code == 202
    response = _post(api_client, {**SMS_ORDER, "body": "Something else"}, "key-3")

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert Order.objects.filter(senders_reference="ref-idem").count() == 1


def test_same_key_on_another_endpoint_is_422(api_client: APIClient) -> None:
    assert _post(api_client, SMS_ORDER, "key-4").status_code == 202
    email = {"subject": "s", "body": "Hello", "recipients": [{"emailAddress": "a@b.no"}]}
    assert _post(api_client, email, "key-4", path="/orders/email").status_code == 422


def test_keys_are_scoped_to_the_creator(api_client: APIClient, other_client: APIClient) -> None:
    mine = _post(api_client, SMS_ORDER, "shared-key")
    theirs = _post(other_client, SMS_ORDER, "shared-key")

    assert mine.status_code == theirs.status_code == 202
    assert mine.json()["orderId"] != theirs.json()["orderId"]
    assert "Idempotent-Replayed" not in theirs


def test_a_duplicate_while_the_first_is_in_flight_is_409_with_retry_after(api_client: APIClient) -> None:
    now = timezone.now()
    IdempotencyKey.objects.create(
        creator="ttd",
        key="key-5",
        request_hash=request_fingerprint(path=f"{API}/orders/sms", data=SMS_ORDER),
        created_at=now,
        claimed_at=now,
    )
    response = _post(api_client, SMS_ORDER, "key-5")

    assert response.status_code == 409
    assert response["Retry-After"] == "1"
    assert not Order.objects.filter(senders_reference="ref-idem").exists()


def test_an_abandoned_in_flight_key_is_taken_over(api_client: APIClient) -> None:
    long_ago = timezone.now() - timedelta(minutes=5)
    IdempotencyKey.objects.create(
        creator="ttd",
        key="key-6",
        request_hash=request_fingerprint(path=f"{API}/orders/sms", data=SMS_ORDER),
        created_at=long_ago,
        claimed_at=long_ago,
    )
    response = _post(api_client, SMS_ORDER, "key-6")

    assert response.status_code == 202
    assert (
        IdempotencyKey.objects.get(key="key-6").order_id == Order.objects.get(senders_reference="ref-idem").id
    )


def test_a_key_past_its_retention_registers_a_new_order(api_client: APIClient) -> None:
    first = _post(api_client, SMS_ORDER, "key-7")
    IdempotencyKey.objects.filter(key="key-7").update(created_at=timezone.now() - timedelta(hours=25))
    second = _post(api_client, SMS_ORDER, "key-7")

    assert second.status_code == 202
    assert second.json()["orderId"] != first.json()["orderId"]


def test_an_invalid_body_leaves_the_key_unused(api_client: APIClient) -> None:
    assert _post(api_client, {**SMS_ORDER, "recipients": []}, "key-8").status_code == 400
    assert not IdempotencyKey.objects.filter(key="key-8").exists()
    assert _post(api_client, SMS_ORDER, "key-8").status_code == 202


@pytest.mark.parametrize("key", ["", "x" * 256, "nøkkel"])
def test_unusable_keys_are_400_naming_the_header(api_client: APIClient, key: str) -> None:
    response = _post(api_client, SMS_ORDER, key)

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]


def test_a_request_whose_key_was_taken_over_rolls_its_order_back() -> None:
    claim = idempotency_claim(creator="ttd", key="key-9", request_hash="h")
    assert not isinstance(claim, dict)
    # A retry took the key over while this request was slow.
    IdempotencyKey.objects.filter(key="key-9").update(token="00000000-0000-0000-0000-000000000000")

    def create_order_and_complete_the_key() -> None:
        with transaction.atomic():
            order = OrderFactory()
            idempotency_complete(claim=claim, order=order, status=202, body={})  # type: ignore[arg-type]

    with pytest.raises(IdempotencyKeyInFlight):
        create_order_and_complete_the_key()
    assert not Order.objects.exists()


def test_purge_deletes_only_keys_past_retention() -> None:
    now = timezone.now()
    for key, age in (("old", timedelta(hours=30)), ("new", timedelta(hours=1))):
        IdempotencyKey.objects.create(
            creator="ttd", key=key, request_hash="h", created_at=now - age, claimed_at=now - age
        )
    assert idempotency_keys_purge(now=now) == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_register_exactly_one_order(make_token) -> None:
    token = make_token()
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def post() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        barrier.wait()
        try:
            statuses.append(_post(client, SMS_ORDER, "concurrent").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Order.objects.filter(senders_reference="ref-idem").count() == 1
    assert statuses.count(202) >= 1
    assert set(statuses) <= {202, 409}
