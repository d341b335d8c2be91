"""The notification lists rendered by PostgreSQL answer exactly what the documented serializers produce."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from orders.api.output import EmailNotificationSummarySerializer, SmsNotificationSummarySerializer
from orders.models import EmailNotification, EmailStatus, SmsNotification, SmsStatus
from orders.selectors import OrderNotifications
from tests.factories import EmailNotificationFactory, OrderFactory, SmsNotificationFactory
from tests.orders.api.conftest import API

pytestmark = pytest.mark.django_db

# Whole seconds (no fraction in the text), a small fraction (leading zeros) and the largest fraction.
TIMES = [
    datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC),
    datetime(2024, 3, 1, 12, 0, 0, 120, tzinfo=UTC),
    datetime(2031, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]


def _reference(order: Any, model: Any, serializer: Any) -> Any:
    """The serializer path's answer, as parsed JSON."""
    rows = list(model.objects.filter(order=order).order_by("recipient_position", "created_at", "id"))
    rendered = JSONRenderer().render(serializer(OrderNotifications(order=order, notifications=rows)).data)
    return json.loads(rendered)


@pytest.mark.parametrize("senders_reference", ["ref-1", None])
def test_sms_list_matches_the_serializer_for_every_status_and_recipient_kind(
    api_client: APIClient, senders_reference: str | None
) -> None:
    order = OrderFactory(senders_reference=senders_reference)
    for position, status in enumerate(SmsStatus):
        SmsNotificationFactory(
            order=order,
            recipient_position=position,
            status=status,
            status_changed_at=TIMES[position % len(TIMES)],
            # Every third has no address (reserved or not identified), some are persons or organizations.
            mobile_number="" if position % 3 == 0 else f"+4799{position:06d}",
            recipient_national_identity_number="01017012345" if position % 4 == 1 else None,
            recipient_organization_number="987654321" if position % 4 == 2 else None,
        )

    response = api_client.get(f"{API}/orders/{order.id}/notifications/sms")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == _reference(order, SmsNotification, SmsNotificationSummarySerializer)


def test_email_list_matches_the_serializer_for_every_status_and_recipient_kind(api_client: APIClient) -> None:
    order = OrderFactory(email=True)
    for position, status in enumerate(EmailStatus):
        EmailNotificationFactory(
            order=order,
            recipient_position=position,
            status=status,
            status_changed_at=TIMES[position % len(TIMES)],
            to_address="" if position % 3 == 0 else f"r{position}@example.no",
            recipient_organization_number="987654321" if position % 2 else None,
        )

    body = api_client.get(f"{API}/orders/{order.id}/notifications/email").json()

    assert body == _reference(order, EmailNotification, EmailNotificationSummarySerializer)
    assert [item["sendStatus"]["lastUpdate"] for item in body["notifications"][:3]] == [
        "2024-03-01T12:00:00Z",
        "2024-03-01T12:00:00.000120Z",
        "2031-12-31T23:59:59.999999Z",
    ]


def test_list_of_an_order_without_notifications_is_empty(api_client: APIClient) -> None:
    order = OrderFactory()

    body = api_client.get(f"{API}/orders/{order.id}/notifications/sms").json()

    assert body == {
        "orderId": str(order.id),
        "sendersReference": order.senders_reference,
        "generated": 0,
        "succeeded": 0,
        "notifications": [],
    }


def test_list_keeps_text_that_needs_escaping_intact(api_client: APIClient) -> None:
    order = OrderFactory(senders_reference='quote " backslash \\ æøå \t tab')
    SmsNotificationFactory(order=order, recipient_position=0, mobile_number="+4799999999")

    body = api_client.get(f"{API}/orders/{order.id}/notifications/sms").json()

    assert body["sendersReference"] == 'quote " backslash \\ æøå \t tab'
    assert body == _reference(order, SmsNotification, SmsNotificationSummarySerializer)
