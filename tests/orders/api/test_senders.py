"""The senders of v1 orders (emailTemplate.fromAddress, senderNumber): refused with 400 under their JSON
path unless a provider can write them, so a bad sender never reaches the send pipeline."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from orders import validation
from orders.models import Order
from tests.orders.api.conftest import post_json
from tests.orders.api.test_create import errors_of, generic_order, sms_order

pytestmark = pytest.mark.django_db

# Control, format (zero-width, bidi override) and line/paragraph separator characters.
controls = st.characters(categories=["Cc", "Cf", "Zl", "Zp"])
once_per_example = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def with_control(draw: st.DrawFn, base: str) -> str:
    """``base`` with one or more control characters inserted anywhere, ends included."""
    value = base
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        at = draw(st.integers(min_value=0, max_value=len(value)))
        value = value[:at] + draw(controls) + value[at:]
    return value


def _email_sender(client: APIClient, value: Any) -> Any:
    return post_json(
        client,
        "/orders",
        generic_order("Email", emailTemplate={"subject": "S", "body": "B", "fromAddress": value}),
    )


def _sms_sender(client: APIClient, value: Any, *, generic: bool) -> Any:
    if generic:
        return post_json(
            client, "/orders", generic_order("Sms", smsTemplate={"body": "T", "senderNumber": value})
        )
    return post_json(client, "/orders/sms", sms_order(senderNumber=value))


# --- Email sender ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "noreply@ttd.no\r\nBcc: victim@evil.test",
        "noreply@ttd.no\r\n",
        "noreply@ttd.no\n",
        "noreply@ttd.no,victim@evil.test",
        "noreply@ttd.no; victim@evil.test",
        "a;b@ttd.no",  # the legacy pattern admits ";" in the local part; no mail library does
        "Etaten <noreply@ttd.no>",  # an address only, as the reference
        "noreply\u202e@ttd.no",  # a bidi override: what is shown is not what is sent
        "not-an-address",
    ],
)
def test_a_from_address_that_is_not_one_clean_address_is_refused_under_its_path(
    api_client: APIClient, value: str
) -> None:
    response = _email_sender(api_client, value)

    assert errors_of(response) == {"emailTemplate.fromAddress": [validation.MSG_INVALID_SENDER_EMAIL]}
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("post@etaten.no", "post@etaten.no"),
        ("  post@etaten.no ", "post@etaten.no"),
        ("gratis-netflix+1@gmail.com", "gratis-netflix+1@gmail.com"),
        ("noreply@sub.æøå.no", "noreply@sub.æøå.no"),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_a_clean_from_address_is_kept_and_a_blank_one_means_the_default(
    api_client: APIClient, value: str | None, stored: str | None
) -> None:
    response = _email_sender(api_client, value)

    assert response.status_code == 202, response.content
    template = Order.objects.get(id=response.json()["orderId"]).email_template
    assert template is not None
    assert template.from_address == (stored or "noreply@altinn.cloud")


@once_per_example
@given(value=with_control("noreply@ttd.no"))
def test_every_from_address_with_a_control_character_is_a_400_naming_the_field(
    api_client: APIClient, value: str
) -> None:
    response = _email_sender(api_client, value)

    assert response.status_code == 400, (value, response.content)
    assert "emailTemplate.fromAddress" in response.json()["errors"]


@once_per_example
@given(value=st.text(max_size=40))
def test_any_from_address_is_taken_only_when_the_rule_allows_it_and_never_a_500(
    api_client: APIClient, value: str
) -> None:
    response = _email_sender(api_client, value)

    if validation.is_blank_sender(value) or validation.is_valid_sender_email(value):
        assert response.status_code == 202, (value, response.content)
    else:
        assert response.status_code == 400, (value, response.content)
        assert "emailTemplate.fromAddress" in response.json()["errors"]


# --- SMS sender -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("generic", [False, True], ids=["sms", "generic"])
@pytest.mark.parametrize(
    "value",
    [
        "Etaten\r\n",
        "Eta\nten",
        "Skatteetaten",  # 12 characters: an alphanumeric sender has at most 11
        "Etat\u2603",  # not a GSM 03.38 letter
        "Etat!",
        "Δelta",  # in the GSM basic table, but not writable in an SMPP address (Latin-1)
        "+1234567890123456",  # 16 digits
        "++4712345678",
        "47 12 34 56",  # digits and spaces: neither a number nor a name
        "\u200bAltinn",  # a zero-width space
    ],
)
def test_an_sms_sender_a_provider_cannot_write_is_refused_under_its_path(
    api_client: APIClient, value: str, generic: bool
) -> None:
    response = _sms_sender(api_client, value, generic=generic)

    path = "smsTemplate.senderNumber" if generic else "senderNumber"
    assert errors_of(response) == {path: [validation.MSG_INVALID_SMS_SENDER]}
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("Altinn", "Altinn"),
        ("NAV Oslo", "NAV Oslo"),
        ("Lånekassen", "Lånekassen"),
        ("Politiet112", "Politiet112"),
        (" Etaten ", "Etaten"),
        ("+4712345678", "+4712345678"),
        ("004712345678", "004712345678"),
        ("2222", "2222"),
        ("123456789012345", "123456789012345"),
        ("", "Altinn"),
        ("  ", "Altinn"),
        (None, "Altinn"),
    ],
)
def test_a_writable_sms_sender_is_kept_trimmed_and_a_blank_one_means_the_default(
    api_client: APIClient, value: str | None, stored: str
) -> None:
    response = _sms_sender(api_client, value, generic=False)

    assert response.status_code == 202, response.content
    template = Order.objects.get(id=response.json()["orderId"]).sms_template
    assert template is not None
    assert template.sender_number == stored


@once_per_example
@given(value=with_control("Altinn"), generic=st.booleans())
def test_every_sms_sender_with_a_control_character_is_a_400_naming_the_field(
    api_client: APIClient, value: str, generic: bool
) -> None:
    response = _sms_sender(api_client, value, generic=generic)

    assert response.status_code == 400, (value, response.content)
    assert ("smsTemplate.senderNumber" if generic else "senderNumber") in response.json()["errors"]


@once_per_example
@given(value=st.text(max_size=20))
def test_any_sms_sender_is_taken_only_when_the_rule_allows_it_and_never_a_500(
    api_client: APIClient, value: str
) -> None:
    response = _sms_sender(api_client, value, generic=False)

    if validation.is_blank_sender(value) or validation.is_valid_sms_sender(value):
        assert response.status_code == 202, (value, response.content)
    else:
        assert response.status_code == 400, (value, response.content)
        assert "senderNumber" in response.json()["errors"]
