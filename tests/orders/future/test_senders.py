"""The senders of future orders (senderEmailAddress, sender) on every endpoint that takes them: refused
with 400 under their JSON path unless a provider can write them, never taken and never a 500."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from orders import validation
from orders.models import Order
from tests.orders.future.conftest import post_future

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_providers")]

controls = st.characters(categories=["Cc", "Cf", "Zl", "Zp"])
once_per_example = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _email(sender: Any) -> dict[str, Any]:
    return {"subject": "Ny melding", "body": "Hei", "senderEmailAddress": sender}


def _sms(sender: Any) -> dict[str, Any]:
    return {"body": "Hei", "sender": sender}


def _order_email(sender: Any) -> tuple[str, dict[str, Any], str]:
    recipient = {"recipientEmail": {"emailAddress": "ola@example.no", "emailSettings": _email(sender)}}
    body = {"idempotencyId": str(uuid.uuid4()), "recipient": recipient}
    return "/orders", body, "recipient.recipientEmail.emailSettings.senderEmailAddress"


def _order_sms(sender: Any) -> tuple[str, dict[str, Any], str]:
    recipient = {"recipientSms": {"phoneNumber": "+4799999999", "smsSettings": _sms(sender)}}
    body = {"idempotencyId": str(uuid.uuid4()), "recipient": recipient}
    return "/orders", body, "recipient.recipientSms.smsSettings.sender"


def _reminder_sms(sender: Any) -> tuple[str, dict[str, Any], str]:
    _path, body, _field = _order_sms("Altinn")
    reminder = {"recipientSms": {"phoneNumber": "+4799999999", "smsSettings": _sms(sender)}}
    body["reminders"] = [{"delayDays": 1, "recipient": reminder}]
    return "/orders", body, "reminders[0].recipient.recipientSms.smsSettings.sender"


def _instant_email(sender: Any) -> tuple[str, dict[str, Any], str]:
    recipient = {"emailAddress": "ola@example.no", "emailSettings": _email(sender)}
    body = {"idempotencyId": str(uuid.uuid4()), "recipientEmail": recipient}
    return "/orders/instant/email", body, "recipientEmail.emailSettings.senderEmailAddress"


def _instant_sms(sender: Any) -> tuple[str, dict[str, Any], str]:
    recipient = {"phoneNumber": "+4799999999", "timeToLiveInSeconds": 300, "smsSettings": _sms(sender)}
    body = {"idempotencyId": str(uuid.uuid4()), "recipientSms": recipient}
    return "/orders/instant/sms", body, "recipientSms.smsSettings.sender"


EMAIL_ENDPOINTS = [_order_email, _instant_email]
SMS_ENDPOINTS = [_order_sms, _reminder_sms, _instant_sms]


@st.composite
def with_control(draw: st.DrawFn, base: str) -> str:
    value = base
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        at = draw(st.integers(min_value=0, max_value=len(value)))
        value = value[:at] + draw(controls) + value[at:]
    return value


def _errors(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    return dict(response.json()["errors"])


@pytest.mark.parametrize("endpoint", EMAIL_ENDPOINTS, ids=lambda e: e.__name__)
@pytest.mark.parametrize(
    "value",
    ["noreply@ttd.no\r\nBcc: victim@evil.test", "noreply@ttd.no\n", "a;b@ttd.no", "a@ttd.no,b@ttd.no"],
)
def test_a_sender_email_address_that_is_not_one_clean_address_is_refused_under_its_path(
    api_client: APIClient, endpoint: Any, value: str
) -> None:
    path, body, field = endpoint(value)

    response = post_future(api_client, path, body)

    assert _errors(response) == {field: [validation.MSG_INVALID_SENDER_EMAIL]}
    assert not Order.objects.exists()


@pytest.mark.parametrize("endpoint", SMS_ENDPOINTS, ids=lambda e: e.__name__)
@pytest.mark.parametrize("value", ["Etaten\r\n", "Skatteetaten", "Etat\u2603", "+1234567890123456"])
def test_an_sms_sender_a_provider_cannot_write_is_refused_under_its_path(
    api_client: APIClient, endpoint: Any, value: str
) -> None:
    path, body, field = endpoint(value)

    response = post_future(api_client, path, body)

    assert _errors(response) == {field: [validation.MSG_INVALID_SMS_SENDER]}
    assert not Order.objects.exists()


@pytest.mark.parametrize("endpoint", SMS_ENDPOINTS, ids=lambda e: e.__name__)
def test_a_writable_sms_sender_is_taken_trimmed(api_client: APIClient, endpoint: Any) -> None:
    path, body, _field = endpoint(" NAV Oslo ")

    response = post_future(api_client, path, body)

    assert response.status_code in (200, 201), response.content
    senders = {order.sms_template.sender_number for order in Order.objects.exclude(sms_template=None)}
    assert "NAV Oslo" in senders


@once_per_example
@given(endpoint=st.sampled_from(EMAIL_ENDPOINTS), value=with_control("noreply@ttd.no"))
def test_every_sender_email_address_with_a_control_character_is_a_400_naming_the_field(
    api_client: APIClient, endpoint: Any, value: str
) -> None:
    path, body, field = endpoint(value)

    response = post_future(api_client, path, body)

    assert response.status_code == 400, (value, response.content)
    assert field in response.json()["errors"]


@once_per_example
@given(endpoint=st.sampled_from(SMS_ENDPOINTS), value=with_control("Altinn"))
def test_every_sms_sender_with_a_control_character_is_a_400_naming_the_field(
    api_client: APIClient, endpoint: Any, value: str
) -> None:
    path, body, field = endpoint(value)

    response = post_future(api_client, path, body)

    assert response.status_code == 400, (value, response.content)
    assert field in response.json()["errors"]


@once_per_example
@given(endpoint=st.sampled_from(SMS_ENDPOINTS), value=st.text(max_size=20))
def test_any_sms_sender_is_taken_only_when_the_rule_allows_it_and_never_a_500(
    api_client: APIClient, endpoint: Any, value: str
) -> None:
    path, body, field = endpoint(value)

    response = post_future(api_client, path, body)

    if validation.is_blank_sender(value) or validation.is_valid_sms_sender(value):
        assert response.status_code in (200, 201), (value, response.content)
    else:
        assert response.status_code == 400, (value, response.content)
        assert field in response.json()["errors"]
