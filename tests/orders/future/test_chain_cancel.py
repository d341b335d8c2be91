"""PUT /future/orders/chain/{id}/cancel and .../reminders/{shipmentId}/cancel: v1 cancel's rule per
shipment, the feed entries of what was cancelled, 409 once processing has begun, 404 for another creator's."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from orders.models import Order, OrderStatus, OrderType, StatusFeedEntry
from tests.orders.future.conftest import FUTURE, post_future, published

__all__ = ["published"]
pytestmark = pytest.mark.django_db


def register_chain(client: APIClient, *, reminders: int = 2) -> dict[str, Any]:
    send_time = timezone.now() + timedelta(days=30)
    body = {
        "idempotencyId": f"chain-{uuid.uuid4()}",
        "requestedSendTime": send_time.isoformat(),
        "recipient": {"recipientSms": {"phoneNumber": "+4799999999", "smsSettings": {"body": "Frist"}}},
        "reminders": [
            {
                "delayDays": n + 1,
                "recipient": {
                    "recipientSms": {"phoneNumber": "+4799999999", "smsSettings": {"body": "Husk"}}
                },
            }
            for n in range(reminders)
        ],
    }
    response = post_future(client, "/orders", body)
    assert response.status_code == 201, response.content
    return response.json()


def cancel(client: APIClient, chain_id: str, reminder: str | None = None) -> Any:
    path = f"{FUTURE}/orders/chain/{chain_id}"
    return client.put(f"{path}/reminders/{reminder}/cancel" if reminder else f"{path}/cancel")


def statuses(receipt: dict[str, Any]) -> list[str]:
    ids = [receipt["notification"]["shipmentId"]] + [
        r["shipmentId"] for r in receipt["notification"]["reminders"]
    ]
    by_id = dict(Order.objects.filter(id__in=ids).values_list("id", "status"))
    return [by_id[uuid.UUID(i)] for i in ids]


@pytest.mark.usefixtures("published")
def test_cancelling_a_chain_cancels_its_notification_and_reminders_and_feeds_each(
    api_client: APIClient,
) -> None:
    receipt = register_chain(api_client)

    response = cancel(api_client, receipt["notificationOrderId"])

    assert response.status_code == 200, response.content
    chain = response.json()
    assert chain["notification"]["status"] == "Order_Cancelled"
    assert [r["status"] for r in chain["notification"]["reminders"]] == ["Order_Cancelled"] * 2
    assert statuses(receipt) == [OrderStatus.CANCELLED] * 3
    assert StatusFeedEntry.objects.filter(creator="ttd").count() == 3
    feed = api_client.get(f"{FUTURE}/shipment/feed").json()
    assert {entry["status"] for entry in feed} == {"Order_Cancelled"}

    again = cancel(api_client, receipt["notificationOrderId"])
    assert again.status_code == 200
    assert StatusFeedEntry.objects.filter(creator="ttd").count() == 3


@pytest.mark.usefixtures("published")
def test_a_chain_whose_notification_is_being_processed_is_a_409_and_nothing_changes(
    api_client: APIClient,
) -> None:
    receipt = register_chain(api_client)
    Order.objects.filter(id=receipt["notification"]["shipmentId"]).update(status=OrderStatus.PROCESSING)

    response = cancel(api_client, receipt["notificationOrderId"])

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert statuses(receipt) == [OrderStatus.PROCESSING, OrderStatus.REGISTERED, OrderStatus.REGISTERED]
    assert not StatusFeedEntry.objects.exists()


@pytest.mark.usefixtures("published")
def test_a_reminder_due_within_five_minutes_is_left_to_the_pipeline(api_client: APIClient) -> None:
    receipt = register_chain(api_client)
    soon = timezone.now() + timedelta(minutes=2)
    Order.objects.filter(id=receipt["notification"]["reminders"][0]["shipmentId"]).update(
        requested_send_time=soon
    )

    response = cancel(api_client, receipt["notificationOrderId"])

    assert response.status_code == 200
    assert statuses(receipt) == [OrderStatus.CANCELLED, OrderStatus.REGISTERED, OrderStatus.CANCELLED]


@pytest.mark.usefixtures("published")
def test_one_reminder_can_be_cancelled_also_after_the_notification_was_sent(api_client: APIClient) -> None:
    receipt = register_chain(api_client)
    Order.objects.filter(id=receipt["notification"]["shipmentId"]).update(status=OrderStatus.COMPLETED)
    reminder = receipt["notification"]["reminders"][1]["shipmentId"]

    response = cancel(api_client, receipt["notificationOrderId"], reminder)

    assert response.status_code == 200
    assert response.json()["notification"]["reminders"][1]["status"] == "Order_Cancelled"
    assert statuses(receipt) == [OrderStatus.COMPLETED, OrderStatus.REGISTERED, OrderStatus.CANCELLED]
    [entry] = StatusFeedEntry.objects.all()
    assert str(entry.order_id) == reminder
    assert cancel(api_client, receipt["notificationOrderId"], reminder).status_code == 200


@pytest.mark.usefixtures("published")
def test_a_processed_reminder_is_a_409(api_client: APIClient) -> None:
    receipt = register_chain(api_client, reminders=1)
    reminder = receipt["notification"]["reminders"][0]["shipmentId"]
    Order.objects.filter(id=reminder).update(status=OrderStatus.PROCESSED)

    assert cancel(api_client, receipt["notificationOrderId"], reminder).status_code == 409


@pytest.mark.usefixtures("published")
def test_another_creators_chain_and_foreign_or_main_shipments_are_404(
    api_client: APIClient, other_client: APIClient
) -> None:
    receipt = register_chain(api_client, reminders=1)
    chain_id = receipt["notificationOrderId"]
    reminder = receipt["notification"]["reminders"][0]["shipmentId"]

    assert cancel(other_client, chain_id).status_code == 404
    assert cancel(other_client, chain_id, reminder).status_code == 404
    main = cancel(api_client, chain_id, receipt["notification"]["shipmentId"])
    assert (main.status_code, main.json()["code"]) == (404, "NOT-00003")
    other = register_chain(api_client, reminders=1)
    assert (
        cancel(api_client, chain_id, other["notification"]["reminders"][0]["shipmentId"]).status_code == 404
    )
    assert cancel(api_client, str(uuid.uuid4())).status_code == 404
    assert statuses(receipt) == [OrderStatus.REGISTERED, OrderStatus.REGISTERED]
    assert Order.objects.filter(type=OrderType.REMINDER, status=OrderStatus.CANCELLED).count() == 0


def test_ids_that_are_not_uuids_are_400_naming_the_parameter(api_client: APIClient) -> None:
    assert set(cancel(api_client, "nope").json()["errors"]) == {"id"}
    response = cancel(api_client, str(uuid.uuid4()), "nope")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"shipmentId"}


def test_a_token_without_the_scope_is_refused(make_token: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(scopes=['altinn:other'])}")
    assert cancel(client, str(uuid.uuid4())).status_code == 403
