"""Content warnings in the receipts of v1 orders, order chains and instant orders: present with the JSON
path of the text, absent when there is nothing to say, kept for replays, and never a refusal."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from orders.models import Order
from tests.orders.api.conftest import post_json
from tests.orders.future.conftest import fresh_providers

__all__ = ["fresh_providers"]
pytestmark = pytest.mark.django_db

UCS2_TEXT = "Fristen er i morgen’ " + "x" * 140  # 161 characters, the apostrophe makes it UCS-2


def codes(body: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(w["code"], w.get("field")) for w in body.get("warnings", [])]


def test_a_plain_order_has_no_warnings_key(api_client: APIClient) -> None:
    response = post_json(
        api_client, "/orders/sms", {"body": "Hei", "recipients": [{"mobileNumber": "+4799999999"}]}
    )

    assert response.status_code == 202
    assert set(response.json()) == {"orderId", "smsPartCount"}


def test_an_sms_order_is_accepted_with_warnings_naming_its_body(api_client: APIClient, settings: Any) -> None:
    settings.NOTIFICATIONS_SMS_WARN_PARTS = 2
    body = UCS2_TEXT + " https://altinn.no $recipientName$"

    response = post_json(
        api_client, "/orders/sms", {"body": body, "recipients": [{"mobileNumber": "+4799999999"}]}
    )

    assert response.status_code == 202
    assert Order.objects.filter(id=response.json()["orderId"]).exists()
    assert codes(response.json()) == [
        ("SmsUnicode", "body"),
        ("SmsManyParts", "body"),
        ("SmsLink", "body"),
        ("KeywordNotSubstituted", "body"),
    ]
    assert "3 part(s) instead of 2" in response.json()["warnings"][0]["message"]


def test_generic_and_email_orders_name_their_template_fields(api_client: APIClient) -> None:
    generic = {
        "notificationChannel": "EmailAndSms",
        "recipients": [{"emailAddress": "a@example.com", "mobileNumber": "+4799999999"}],
        "emailTemplate": {"subject": "Til $recipientName$", "body": "Hei"},
        "smsTemplate": {"body": "Hei ☺"},
    }
    response = post_json(api_client, "/orders", generic)
    assert codes(response.json()) == [
        ("SmsUnicode", "smsTemplate.body"),
        ("KeywordNotSubstituted", "emailTemplate.subject"),
    ]

    email = {"subject": "S", "body": "Hei $recipientName$", "recipients": [{"emailAddress": "a@example.com"}]}
    assert codes(post_json(api_client, "/orders/email", email).json()) == [("KeywordNotSubstituted", "body")]


def test_registry_recipients_without_a_name_are_counted(api_client: APIClient, registry_person: Any) -> None:
    registry_person("11876995923", mobile="+4799999999", name="")
    registry_person("01025161013", mobile="+4798888888", name="Ola Nordmann")
    order = {
        "body": "Hei $recipientName$",
        "recipients": [{"nationalIdentityNumber": "11876995923"}, {"nationalIdentityNumber": "01025161013"}],
    }

    [warning] = post_json(api_client, "/orders/sms", order).json()["warnings"]

    assert warning["message"] == "$recipientName$ becomes empty for 1 recipient(s) without a name."


def test_an_idempotent_replay_returns_the_same_warnings(api_client: APIClient) -> None:
    order = {"body": "Se www.altinn.no", "recipients": [{"mobileNumber": "+4799999999"}]}
    key = f"k-{uuid.uuid4()}"
    first = api_client.post(
        "/notifications/api/v1/orders/sms", data=order, format="json", headers={"Idempotency-Key": key}
    )
    again = api_client.post(
        "/notifications/api/v1/orders/sms", data=order, format="json", headers={"Idempotency-Key": key}
    )

    assert again.json() == first.json()
    assert codes(again.json()) == [("SmsLink", "body")]


def test_a_chain_receipt_names_each_shipments_text(api_client: APIClient) -> None:
    chain = {
        "idempotencyId": f"chain-{uuid.uuid4()}",
        "recipient": {
            "recipientSms": {"phoneNumber": "+4799999999", "smsSettings": {"body": "Hei $recipientName$"}}
        },
        "reminders": [
            {
                "delayDays": 3,
                "recipient": {
                    "recipientEmail": {
                        "emailAddress": "a@example.com",
                        "emailSettings": {"subject": "Husk", "body": "Husk fristen"},
                    }
                },
            },
            {
                "delayDays": 7,
                "recipient": {
                    "recipientSms": {"phoneNumber": "+4799999999", "smsSettings": {"body": "Frist ✓"}}
                },
            },
        ],
    }
    response = post_json(api_client, "/future/orders", chain)
    assert response.status_code == 201
    assert codes(response.json()) == [
        ("KeywordNotSubstituted", "recipient.recipientSms.smsSettings.body"),
        ("SmsUnicode", "reminders[1].recipient.recipientSms.smsSettings.body"),
    ]

    replay = post_json(api_client, "/future/orders", chain)
    assert replay.status_code == 200
    assert replay.json() == response.json()


@pytest.mark.usefixtures("fresh_providers")
def test_an_instant_sms_receipt_carries_warnings_and_is_still_sent(api_client: APIClient) -> None:
    order = {
        "idempotencyId": f"instant-{uuid.uuid4()}",
        "recipientSms": {
            "phoneNumber": "+4799999999",
            "timeToLiveInSeconds": 300,
            "smsSettings": {"body": "Koden er 4829 – gjelder i 5 min"},
        },
    }

    response = post_json(api_client, "/future/orders/instant/sms", order)

    assert response.status_code == 201
    assert codes(response.json()) == [("SmsUnicode", "recipientSms.smsSettings.body")]
    assert "(–)" in response.json()["warnings"][0]["message"]
