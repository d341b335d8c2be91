"""The OpenAPI document describes what the future API really answers: real responses validate against it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from dispatch.services.completion import order_complete_if_done
from orders.models import OrderStatus, SmsStatus
from tests.factories import EmailNotificationFactory, OrderFactory, SmsNotificationFactory
from tests.orders.api.test_schema import assert_matches, schema
from tests.orders.future.conftest import FUTURE, post_future

__all__ = ["schema"]
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_providers")]
PREFIX = "/future"

CHAIN = {
    "idempotencyId": "schema-1",
    "sendersReference": "ref",
    "recipient": {"recipientSms": {"phoneNumber": "+4799999999", "smsSettings": {"body": "Hei"}}},
    "reminders": [
        {
            "delayDays": 1,
            "recipient": {
                "recipientEmail": {
                    "emailAddress": "a@example.no",
                    "emailSettings": {"subject": "S", "body": "B"},
                }
            },
        }
    ],
}


def test_every_future_endpoint_is_documented(schema: dict[str, Any]) -> None:
    paths = {path.removeprefix("/notifications/api/v1") for path in schema["paths"]}

    assert {
        "/future/orders",
        "/future/orders/chain/{id}",
        "/future/orders/instant/sms",
        "/future/orders/instant/email",
        "/future/shipment/{id}",
        "/future/shipment/feed",
    } <= paths
    # The reference's Location path is served, not documented twice.
    assert "/orders/chain/{id}" not in paths


def test_order_chain_answers_match_the_document(schema: dict[str, Any], api_client: APIClient) -> None:
    created = post_future(api_client, "/orders", CHAIN)
    replayed = post_future(api_client, "/orders", CHAIN)
    invalid = post_future(api_client, "/orders", {**CHAIN, "idempotencyId": ""})
    missing = post_future(
        api_client,
        "/orders",
        {
            "idempotencyId": "schema-2",
            "recipient": {
                "recipientPerson": {
                    "nationalIdentityNumber": "01017012345",
                    "channelSchema": "Sms",
                    "smsSettings": {"body": "Hei"},
                }
            },
        },
    )

    for response in (created, replayed, invalid, missing):
        assert_matches(schema, f"{PREFIX}/orders", "post", response)
    assert (created.status_code, replayed.status_code, invalid.status_code, missing.status_code) == (
        201,
        200,
        400,
        422,
    )
    chain = api_client.get(f"{FUTURE}/orders/chain/{created.json()['notificationOrderId']}")
    assert_matches(schema, f"{PREFIX}/orders/chain/{{id}}", "get", chain)
    assert_matches(
        schema,
        f"{PREFIX}/orders/chain/{{id}}",
        "get",
        api_client.get(f"{FUTURE}/orders/chain/{uuid.uuid4()}"),
    )


def test_instant_order_answers_match_the_document(schema: dict[str, Any], api_client: APIClient) -> None:
    sms = {
        "idempotencyId": "schema-sms",
        "recipientSms": {
            "phoneNumber": "+4799999999",
            "timeToLiveInSeconds": 60,
            "smsSettings": {"body": "Kode"},
        },
    }
    refused = {**sms, "idempotencyId": "schema-refused"}
    refused["recipientSms"] = {**sms["recipientSms"], "phoneNumber": "+4799000001"}
    email = {
        "idempotencyId": "schema-email",
        "recipientEmail": {"emailAddress": "a@example.no", "emailSettings": {"subject": "S", "body": "B"}},
    }

    for response in (
        post_future(api_client, "/orders/instant/sms", sms),
        post_future(api_client, "/orders/instant/sms", sms),
        post_future(api_client, "/orders/instant/sms", refused),
    ):
        assert_matches(schema, f"{PREFIX}/orders/instant/sms", "post", response)
    assert_matches(
        schema,
        f"{PREFIX}/orders/instant/email",
        "post",
        post_future(api_client, "/orders/instant/email", email),
    )


def test_shipment_and_feed_answers_match_the_document(schema: dict[str, Any], api_client: APIClient) -> None:
    order = OrderFactory(status=OrderStatus.PROCESSED, senders_reference="ref")
    SmsNotificationFactory(order=order, status=SmsStatus.DELIVERED)
    EmailNotificationFactory(order=order, status="Failed_RecipientReserved", to_address="")
    order_complete_if_done(order_id=order.id)
    cancelled = OrderFactory(requested_send_time=timezone.now() + timedelta(days=1))
    api_client.put(f"/notifications/api/v1/orders/{cancelled.id}/cancel")

    assert_matches(
        schema, f"{PREFIX}/shipment/{{id}}", "get", api_client.get(f"{FUTURE}/shipment/{order.id}")
    )
    assert_matches(
        schema, f"{PREFIX}/shipment/{{id}}", "get", api_client.get(f"{FUTURE}/shipment/{uuid.uuid4()}")
    )
    page = api_client.get(f"{FUTURE}/shipment/feed")
    assert len(page.json()) == 2
    assert_matches(schema, f"{PREFIX}/shipment/feed", "get", page)
    assert_matches(schema, f"{PREFIX}/shipment/feed", "get", api_client.get(f"{FUTURE}/shipment/feed?seq=-1"))
