"""dialogportenAssociation on future orders: accepted as the reference does, stored, returned with the
chain and in every shipment of it."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from orders.models import OrderChain
from tests.orders.future.conftest import FUTURE, post_future
from tests.orders.future.test_chains import chain

pytestmark = pytest.mark.django_db

DIALOG = "01948c3a-7b2e-7c1d-9f3e-5a6b7c8d9e0f"
TRANSMISSION = "01958c3a-7b2e-7c1d-9f3e-5a6b7c8d9e10"


def _with_reminder(**fields: Any) -> dict[str, Any]:
    body = chain(**fields)
    body["reminders"] = [{"delayDays": 3, "recipient": body["recipient"]}]
    return body


def test_the_association_is_stored_and_returned_with_the_chain_and_every_shipment(
    api_client: APIClient,
) -> None:
    association = {"dialogId": DIALOG, "transmissionId": TRANSMISSION}
    response = post_future(api_client, "/orders", _with_reminder(dialogportenAssociation=association))
    assert response.status_code == 201, response.content
    receipt = response.json()

    stored = OrderChain.objects.get(id=receipt["notificationOrderId"])
    assert (stored.dialog_id, stored.transmission_id) == (DIALOG, TRANSMISSION)

    chain_body = api_client.get(f"{FUTURE}/orders/chain/{receipt['notificationOrderId']}").json()
    assert chain_body["dialogportenAssociation"] == association

    main = receipt["notification"]["shipmentId"]
    reminder = receipt["notification"]["reminders"][0]["shipmentId"]
    for shipment in (main, reminder):
        assert (
            api_client.get(f"{FUTURE}/shipment/{shipment}").json()["dialogportenAssociation"] == association
        )


@pytest.mark.parametrize(
    ("association", "expected"),
    [
        ({"dialogId": DIALOG}, {"dialogId": DIALOG}),
        ({"transmissionId": TRANSMISSION}, {"transmissionId": TRANSMISSION}),
        # Any text is accepted, as the reference's (empty) validator does; "" counts as no id.
        ({"dialogId": "not-a-uuid", "transmissionId": ""}, {"dialogId": "not-a-uuid"}),
        ({}, None),
        (None, None),
    ],
)
def test_what_is_sent_is_what_is_returned(
    api_client: APIClient, association: Any, expected: dict[str, str] | None
) -> None:
    receipt = post_future(api_client, "/orders", chain(dialogportenAssociation=association)).json()

    chain_body = api_client.get(f"{FUTURE}/orders/chain/{receipt['notificationOrderId']}").json()
    shipment = api_client.get(f"{FUTURE}/shipment/{receipt['notification']['shipmentId']}").json()

    assert chain_body.get("dialogportenAssociation") == expected
    assert shipment.get("dialogportenAssociation") == expected


def test_an_order_without_a_chain_has_no_association(api_client: APIClient) -> None:
    order_id = api_client.post(
        "/notifications/api/v1/orders/sms",
        {"body": "x", "recipients": [{"mobileNumber": "+4799999999"}]},
        format="json",
    ).json()["orderId"]

    assert "dialogportenAssociation" not in api_client.get(f"{FUTURE}/shipment/{order_id}").json()


@pytest.mark.parametrize(
    ("association", "path"),
    [
        ("dialog", "dialogportenAssociation"),
        ([DIALOG], "dialogportenAssociation"),
        ({"dialogId": 42}, "dialogportenAssociation.dialogId"),
        ({"transmissionId": ["x"]}, "dialogportenAssociation.transmissionId"),
        ({"dialogId": "x" * 201}, "dialogportenAssociation.dialogId"),
    ],
)
def test_a_malformed_association_is_a_400_naming_the_field(
    api_client: APIClient, association: Any, path: str
) -> None:
    response = post_future(api_client, "/orders", chain(dialogportenAssociation=association))

    assert response.status_code == 400
    assert path in response.json()["errors"]
    assert not OrderChain.objects.exists()


def test_another_creator_cannot_read_the_association(api_client: APIClient, other_client: APIClient) -> None:
    association = {"dialogId": DIALOG}
    receipt = post_future(api_client, "/orders", chain(dialogportenAssociation=association)).json()

    response = other_client.get(f"{FUTURE}/shipment/{receipt['notification']['shipmentId']}")

    assert response.status_code == 404
    assert DIALOG not in response.content.decode()
