"""GET /orders/{id}, GET /orders?sendersReference=, GET /orders/{id}/status and PUT /orders/{id}/cancel."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from orders.models import EmailStatus, NotificationChannel, Order, OrderStatus, SmsStatus
from tests.factories import (
    EmailNotificationFactory,
    EmailTemplateFactory,
    OrderFactory,
    RecipientFactory,
    SmsNotificationFactory,
)
from tests.orders.api.conftest import API, post_json

pytestmark = pytest.mark.django_db

# A send time ahead, and within NOTIFICATIONS_MAX_SEND_AHEAD_DAYS, whenever the tests run.
NEXT_YEAR = timezone.now().year + 1


def _url(order: Any, suffix: str = "") -> str:
    return f"http://testserver{API}/orders/{order.id}{suffix}"


# --- GET /orders/{id} ------------------------------------------------------------------------------


def test_order_reads_back_every_field_it_was_registered_with(api_client: APIClient) -> None:
    body = {
        "sendersReference": "case-4711",
        "requestedSendTime": f"{NEXT_YEAR}-01-15T08:00:00+01:00",
        "conditionEndpoint": "https://service.example.no/cond?id=1",
        "notificationChannel": "EmailAndSms",
        "ignoreReservation": False,
        "resourceId": "urn:altinn:resource:example",
        "resourceAction": "read",
        "recipients": [
            {"emailAddress": "a@example.com", "mobileNumber": "+4799999999"},
            {"organizationNumber": "311000179"},
        ],
        "emailTemplate": {
            "fromAddress": "post@etaten.no",
            "subject": "S",
            "body": "<p>B</p>",
            "contentType": "Html",
        },
        "smsTemplate": {"senderNumber": "Etaten", "body": "T"},
    }
    order_id = post_json(api_client, "/orders", body).json()["orderId"]

    response = api_client.get(f"{API}/orders/{order_id}")

    assert response.status_code == 200
    got = response.json()
    assert got["requestedSendTime"] == f"{NEXT_YEAR}-01-15T07:00:00Z"
    assert got["created"].endswith("Z")
    del got["created"], got["requestedSendTime"]
    expected = {key: value for key, value in body.items() if key != "requestedSendTime"}
    assert got == {
        "id": order_id,
        "creator": "ttd",
        **expected,
        "links": {
            "self": f"http://testserver{API}/orders/{order_id}",
            "status": f"http://testserver{API}/orders/{order_id}/status",
        },
    }


def test_null_fields_are_left_out(api_client: APIClient) -> None:
    order = OrderFactory(senders_reference=None)
    RecipientFactory(order=order, position=0, mobile_number="+4799999999")

    body = api_client.get(f"{API}/orders/{order.id}").json()

    assert set(body) == {
        "id",
        "creator",
        "requestedSendTime",
        "created",
        "notificationChannel",
        "recipients",
        "smsTemplate",
        "links",
    }
    assert body["recipients"] == [{"mobileNumber": "+4799999999"}]


def test_recipients_show_the_reservation_found_at_registration(
    api_client: APIClient, registry_person: Any
) -> None:
    registry_person("11876995923", reserved=True)
    registry_person("01017012345", mobile="+4799999999")
    recipients = [{"nationalIdentityNumber": "11876995923"}, {"nationalIdentityNumber": "01017012345"}]
    order_id = post_json(api_client, "/orders/sms", {"body": "x", "recipients": recipients}).json()["orderId"]

    body = api_client.get(f"{API}/orders/{order_id}").json()

    assert body["recipients"] == [
        {"nationalIdentityNumber": "11876995923", "isReserved": True},
        {"nationalIdentityNumber": "01017012345", "isReserved": False},
    ]


def test_get_order_uses_two_queries_however_many_recipients(
    api_client: APIClient, django_assert_num_queries: Any
) -> None:
    order = OrderFactory()
    for position in range(50):
        RecipientFactory(order=order, position=position)

    with django_assert_num_queries(2):
        response = api_client.get(f"{API}/orders/{order.id}")

    assert len(response.json()["recipients"]) == 50


# --- GET /orders?sendersReference= -----------------------------------------------------------------


def test_list_returns_the_callers_orders_with_exactly_that_reference(api_client: APIClient) -> None:
    first = OrderFactory(senders_reference="case-1")
    second = OrderFactory(senders_reference="case-1")
    OrderFactory(senders_reference="case-10")
    OrderFactory(senders_reference="CASE-1")
    OrderFactory(senders_reference="case-1", creator="nav")

    response = api_client.get(f"{API}/orders", {"sendersReference": "case-1"})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [order["id"] for order in body["orders"]] == [str(first.id), str(second.id)]
    assert body["orders"][0]["links"]["self"] == _url(first)


@pytest.mark.parametrize("reference", ["nothing-like-it", ""])
def test_list_without_matches_is_an_empty_200(api_client: APIClient, reference: str) -> None:
    OrderFactory(senders_reference="case-1")

    response = api_client.get(f"{API}/orders", {"sendersReference": reference})

    assert response.status_code == 200
    assert response.json() == {"count": 0, "orders": []}


def test_list_query_count_does_not_grow_with_orders_or_recipients(
    api_client: APIClient, django_assert_num_queries: Any
) -> None:
    for index in range(10):
        order = OrderFactory(senders_reference="bulk", email=index % 2 == 0)
        for position in range(5):
            RecipientFactory(order=order, position=position)

    with django_assert_num_queries(2):
        response = api_client.get(f"{API}/orders", {"sendersReference": "bulk"})

    assert response.json()["count"] == 10


# --- GET /orders/{id}/status -----------------------------------------------------------------------


STATUS_TEXTS = {
    OrderStatus.REGISTERED: (
        "Order has been registered and is awaiting requested send time before processing."
    ),
    OrderStatus.PROCESSING: "Order processing is ongoing. Notifications are being generated.",
    OrderStatus.PROCESSED: "Order processing is done. Notifications have been successfully generated.",
    OrderStatus.COMPLETED: "Order processing is completed. All notifications have a final status.",
    OrderStatus.SEND_CONDITION_NOT_MET: "Order processing was stopped due to send condition not being met.",
    OrderStatus.CANCELLED: "Order processing was stopped due to order being cancelled.",
}


@pytest.mark.parametrize(("status", "text"), list(STATUS_TEXTS.items()))
def test_status_reports_each_processing_status_with_its_description(
    api_client: APIClient, status: str, text: str
) -> None:
    changed = timezone.now() - timedelta(minutes=3)
    order = OrderFactory(status=status, senders_reference="ref")
    Order.objects.filter(id=order.id).update(status_changed_at=changed)  # auto_now_add ignores a given value

    response = api_client.get(f"{API}/orders/{order.id}/status")

    assert response.status_code == 200
    body = response.json()
    # Processed is reported as itself, not as "Completed" as the reference's v1 does.
    assert body["processingStatus"]["status"] == status
    assert body["processingStatus"]["description"] == text
    assert body["processingStatus"]["lastUpdate"] == changed.isoformat().replace("+00:00", "Z")
    assert "notificationsStatusSummary" not in body
    assert {"recipients", "smsTemplate", "emailTemplate", "links"}.isdisjoint(body)
    assert body["id"] == str(order.id)
    assert body["sendersReference"] == "ref"


def test_status_summarises_each_channel_that_has_notifications(
    api_client: APIClient, django_assert_num_queries: Any
) -> None:
    order = OrderFactory(
        notification_channel=NotificationChannel.EMAIL_AND_SMS,
        email_template=EmailTemplateFactory(),
        status=OrderStatus.PROCESSED,
    )
    for position, status in enumerate([EmailStatus.NEW, EmailStatus.SUCCEEDED, EmailStatus.DELIVERED]):
        EmailNotificationFactory(order=order, recipient_position=position, status=status)
    sms_statuses = [SmsStatus.ACCEPTED, SmsStatus.DELIVERED, SmsStatus.FAILED_TTL, SmsStatus.SENDING]
    for position, status in enumerate(sms_statuses):
        SmsNotificationFactory(order=order, recipient_position=position, status=status)
    # Another order's notifications are not counted.
    SmsNotificationFactory(status=SmsStatus.DELIVERED)

    with django_assert_num_queries(1):
        response = api_client.get(f"{API}/orders/{order.id}/status")

    assert response.json()["notificationsStatusSummary"] == {
        "email": {"links": {"self": _url(order, "/notifications/email")}, "generated": 3, "succeeded": 2},
        # Accepted and Delivered both count, as in the notification list (the reference counted Accepted
        # only).
        "sms": {"links": {"self": _url(order, "/notifications/sms")}, "generated": 4, "succeeded": 2},
    }


def test_status_leaves_out_a_channel_without_notifications(api_client: APIClient) -> None:
    order = OrderFactory(status=OrderStatus.PROCESSED)
    SmsNotificationFactory(order=order, recipient_position=0)

    summary = api_client.get(f"{API}/orders/{order.id}/status").json()["notificationsStatusSummary"]

    assert list(summary) == ["sms"]


# --- PUT /orders/{id}/cancel -----------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["/orders", "/order"])
def test_cancel_answers_with_the_cancelled_order_status(api_client: APIClient, prefix: str) -> None:
    order = OrderFactory(requested_send_time=timezone.now() + timedelta(days=1))

    response = api_client.put(f"{API}{prefix}/{order.id}/cancel")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(order.id)
    assert body["processingStatus"]["status"] == "Cancelled"
    assert body["processingStatus"]["description"] == STATUS_TEXTS[OrderStatus.CANCELLED]
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED


def test_cancel_twice_answers_200_both_times(api_client: APIClient) -> None:
    order = OrderFactory(requested_send_time=timezone.now() + timedelta(days=1))

    first = api_client.put(f"{API}/orders/{order.id}/cancel")
    second = api_client.put(f"{API}/orders/{order.id}/cancel")

    assert first.status_code == second.status_code == 200
    assert first.json()["processingStatus"] == second.json()["processingStatus"]


@pytest.mark.parametrize(
    ("status", "minutes_ahead"),
    [
        (OrderStatus.PROCESSING, 60),
        (OrderStatus.COMPLETED, 60),
        (OrderStatus.REGISTERED, 4),
        (OrderStatus.REGISTERED, -1),
    ],
)
def test_cancel_of_an_order_no_longer_cancellable_is_a_409_problem(
    api_client: APIClient, status: str, minutes_ahead: int
) -> None:
    order = OrderFactory(status=status, requested_send_time=timezone.now() + timedelta(minutes=minutes_ahead))

    response = api_client.put(f"{API}/orders/{order.id}/cancel")

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["title"] == "Conflict"
    order.refresh_from_db()
    assert order.status == status


def test_cancel_of_an_unknown_order_is_a_404_problem(api_client: APIClient) -> None:
    response = api_client.put(f"{API}/orders/f1a1cc30-197f-4f34-8304-006ce4945fd1/cancel")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["title"] == "Not Found"


def test_cancel_of_another_creators_order_is_404_and_leaves_it_alone(other_client: APIClient) -> None:
    order = OrderFactory(creator="ttd", requested_send_time=timezone.now() + timedelta(days=1))

    response = other_client.put(f"{API}/orders/{order.id}/cancel")

    assert response.status_code == 404
    order.refresh_from_db()
    assert order.status == OrderStatus.REGISTERED


def test_another_creator_cannot_read_or_list_the_order(
    api_client: APIClient, other_client: APIClient
) -> None:
    order_id = post_json(
        api_client,
        "/orders/sms",
        {"sendersReference": "mine", "body": "x", "recipients": [{"mobileNumber": "+4799999999"}]},
    ).json()["orderId"]

    assert other_client.get(f"{API}/orders/{order_id}").status_code == 404
    assert other_client.get(f"{API}/orders/{order_id}/status").status_code == 404
    assert other_client.get(f"{API}/orders", {"sendersReference": "mine"}).json() == {
        "count": 0,
        "orders": [],
    }
    assert api_client.get(f"{API}/orders/{order_id}").status_code == 200
