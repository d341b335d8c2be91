"""GET /future/shipment/{id}: the delivery manifest of any order of the caller."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from dispatch.services.processing import order_process
from orders.models import EmailStatus, OrderStatus, SmsStatus
from tests.factories import EmailNotificationFactory, OrderFactory, SmsNotificationFactory
from tests.orders.future.conftest import FUTURE, post_json

pytestmark = pytest.mark.django_db


def test_a_v1_order_reads_as_a_notification_shipment_with_every_notification(
    api_client: APIClient, registry_organization: Any, settings: Any
) -> None:
    settings.NOTIFICATIONS_SMS_SEND_WINDOW = "anytime"
    registry_organization("311000001", mobiles=("+4799999991", "+4799999992"))
    order_id = post_json(
        api_client,
        "/orders/sms",
        {"body": "Hei", "recipients": [{"organizationNumber": "311000001"}], "sendersReference": "ref-1"},
    ).json()["orderId"]
    order_process(order_id=uuid.UUID(order_id))

    response = api_client.get(f"{FUTURE}/shipment/{order_id}")

    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in ("shipmentId", "sendersReference", "type", "status")} == {
        "shipmentId": order_id,
        "sendersReference": "ref-1",
        "type": "Notification",
        "status": "Order_Processed",
    }
    assert sorted((r["type"], r["destination"], r["status"]) for r in body["recipients"]) == [
        ("SMS", "+4799999991", "SMS_New"),
        ("SMS", "+4799999992", "SMS_New"),
    ]
    assert list(body["recipients"][0]) == ["type", "destination", "status", "lastUpdate"]


def test_a_registered_order_has_no_recipients_yet(api_client: APIClient) -> None:
    order = OrderFactory(senders_reference=None)

    body = api_client.get(f"{FUTURE}/shipment/{order.id}").json()

    assert body == {
        "shipmentId": str(order.id),
        "type": "Notification",
        "status": "Order_Registered",
        "lastUpdate": body["lastUpdate"],
        "recipients": [],
    }


@pytest.mark.parametrize(
    ("status", "lifecycle"),
    [
        (EmailStatus.DELIVERED, "Email_Delivered"),
        (EmailStatus.FAILED_INVALID_EMAIL_FORMAT, "Email_Failed_InvalidFormat"),
        (EmailStatus.FAILED_SUPPRESSED_RECIPIENT, "Email_Failed_SuppressedRecipient"),
        (EmailStatus.FAILED_TTL, "Email_Failed_TTL"),
        (EmailStatus.SUCCEEDED, "Email_Succeeded"),
    ],
)
def test_email_statuses_are_the_reference_lifecycle_names(
    api_client: APIClient, status: str, lifecycle: str
) -> None:
    notification = EmailNotificationFactory(status=status)

    body = api_client.get(f"{FUTURE}/shipment/{notification.order_id}").json()

    assert body["recipients"][0]["status"] == lifecycle
    assert body["recipients"][0]["type"] == "Email"


@pytest.mark.parametrize(
    ("status", "lifecycle"),
    [
        (SmsStatus.ACCEPTED, "SMS_Accepted"),
        (SmsStatus.FAILED_BARRED_RECEIVER, "SMS_Failed_BarredReceiver"),
        (SmsStatus.FAILED_TTL, "SMS_Failed_TTL"),
    ],
)
def test_sms_statuses_are_the_reference_lifecycle_names(
    api_client: APIClient, status: str, lifecycle: str
) -> None:
    notification = SmsNotificationFactory(status=status)

    body = api_client.get(f"{FUTURE}/shipment/{notification.order_id}").json()

    assert body["recipients"][0]["status"] == lifecycle


def test_a_recipient_without_an_address_has_no_destination(api_client: APIClient) -> None:
    order = OrderFactory(status=OrderStatus.COMPLETED)
    SmsNotificationFactory(order=order, mobile_number="", status=SmsStatus.FAILED_RECIPIENT_RESERVED)

    body = api_client.get(f"{FUTURE}/shipment/{order.id}").json()

    assert body["status"] == "Order_Completed"
    assert body["recipients"] == [
        {
            "type": "SMS",
            "status": "SMS_Failed_RecipientReserved",
            "lastUpdate": body["recipients"][0]["lastUpdate"],
        }
    ]


def test_emails_come_before_sms_each_in_recipient_order(api_client: APIClient) -> None:
    order = OrderFactory(notification_channel="EmailAndSms", status=OrderStatus.PROCESSED)
    SmsNotificationFactory(order=order, recipient_position=1, mobile_number="+4799999992")
    SmsNotificationFactory(order=order, recipient_position=0, mobile_number="+4799999991")
    EmailNotificationFactory(order=order, recipient_position=0, to_address="a@example.no")

    body = api_client.get(f"{FUTURE}/shipment/{order.id}").json()

    assert [r["destination"] for r in body["recipients"]] == ["a@example.no", "+4799999991", "+4799999992"]


def test_the_manifest_costs_the_same_queries_however_many_notifications(
    api_client: APIClient, django_assert_num_queries: Any
) -> None:
    order = OrderFactory(status=OrderStatus.PROCESSED)
    SmsNotificationFactory.create_batch(50, order=order)
    EmailNotificationFactory.create_batch(20, order=order)

    with django_assert_num_queries(3):
        body = api_client.get(f"{FUTURE}/shipment/{order.id}").json()

    assert len(body["recipients"]) == 70


def test_an_unknown_or_another_creators_shipment_is_a_404_problem_with_code_not_00003(
    api_client: APIClient, other_client: APIClient
) -> None:
    order = OrderFactory()

    for client, shipment_id in ((other_client, order.id), (api_client, uuid.uuid4())):
        response = client.get(f"{FUTURE}/shipment/{shipment_id}")
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"
        assert response.json() == {
            "type": "urn:altinn:error:NOT-00003",
            "title": "Shipment not found",
            "status": 404,
            "code": "NOT-00003",
            "detail": "No shipment with this id was found.",
        }


def test_a_shipment_id_that_is_not_a_uuid_is_a_400(api_client: APIClient) -> None:
    response = api_client.get(f"{FUTURE}/shipment/12345")

    assert response.status_code == 400
    assert response.json()["errors"] == {"id": ["The id must be a UUID."]}


def test_a_cancelled_order_reads_as_cancelled(api_client: APIClient) -> None:
    order = OrderFactory(requested_send_time=timezone.now() + timedelta(days=1))
    assert api_client.put(f"/notifications/api/v1/orders/{order.id}/cancel").status_code == 200

    assert api_client.get(f"{FUTURE}/shipment/{order.id}").json()["status"] == "Order_Cancelled"
