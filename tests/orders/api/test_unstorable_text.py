"""Text PostgreSQL cannot hold (NUL, lone UTF-16 surrogates) is a 400 naming where it was, never a 500.

PostgreSQL's text and jsonb have no NUL character and UTF-8 has no lone surrogate, yet JSON can carry
both as escapes (``"\\u0000"``, ``"\\ud800"``). Any string of any request body, read by the API or not,
any query parameter and the headers the API reads are checked.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from orders.models import Order
from tests.orders.api.conftest import API

pytestmark = pytest.mark.django_db

MESSAGE = "Must not contain NUL characters or unpaired UTF-16 surrogates."

_SMS = {"body": "Hei", "sender": "Altinn", "sendingTimePolicy": "Daytime"}
_EMAIL = {
    "subject": "Emne",
    "body": "Tekst",
    "senderEmailAddress": "avsender@example.no",
    "contentType": "Plain",
}
_FUTURE_RECIPIENTS = [
    {"recipientSms": {"phoneNumber": "+4799999999", "smsSettings": _SMS}},
    {"recipientEmail": {"emailAddress": "ola@example.no", "emailSettings": _EMAIL}},
    {
        "recipientPerson": {
            "nationalIdentityNumber": "01017012345",
            "channelSchema": "EmailAndSms",
            "resourceId": "urn:altinn:resource:demo",
            "emailSettings": _EMAIL,
            "smsSettings": _SMS,
        }
    },
    {
        "recipientOrganization": {
            "orgNumber": "987654321",
            "channelSchema": "SmsPreferred",
            "resourceId": "urn:altinn:resource:demo",
            "emailSettings": _EMAIL,
            "smsSettings": _SMS,
        }
    },
]
_V1_COMMON = {
    "sendersReference": "ref",
    "conditionEndpoint": "https://example.no/condition",
    "statusCallbackUrl": "https://example.no/callback",
    "resourceId": "urn:altinn:resource:demo",
    "resourceAction": "read",
    # Every recipient field, including those the order's channel ignores.
    "recipients": [
        {
            "emailAddress": "ola@example.no",
            "mobileNumber": "+4799999999",
            "organizationNumber": "987654321",
            "nationalIdentityNumber": "01017012345",
        }
    ],
    "unknownField": {"nested": ["text"]},
}


def _future_chain(recipient: dict[str, Any]) -> dict[str, Any]:
    return {
        "idempotencyId": "chain",
        "sendersReference": "ref",
        "conditionEndpoint": "https://example.no/condition",
        "dialogportenAssociation": {"dialogId": "d", "transmissionId": "t"},
        "recipient": recipient,
        "reminders": [
            {
                "sendersReference": "r",
                "conditionEndpoint": "https://example.no/condition",
                "delayDays": 1,
                "recipient": recipient,
            }
        ],
        "unknownField": "text",
    }


# (path, body): a body with strings in every field each endpoint has, and some it does not.
BODIES: list[tuple[str, dict[str, Any]]] = [
    ("/orders/sms", {**_V1_COMMON, "body": "Hei", "senderNumber": "Altinn"}),
    ("/orders/email", {**_V1_COMMON, "subject": "Emne", "body": "Tekst", "contentType": "Plain"}),
    (
        "/orders",
        {
            **_V1_COMMON,
            "notificationChannel": "EmailAndSms",
            "emailTemplate": {"fromAddress": "a@example.no", "subject": "Emne", "body": "Tekst"},
            "smsTemplate": {"senderNumber": "Altinn", "body": "Hei"},
        },
    ),
    *[("/future/orders", _future_chain(recipient)) for recipient in _FUTURE_RECIPIENTS],
    (
        "/future/orders/instant/sms",
        {
            "idempotencyId": "instant",
            "sendersReference": "ref",
            "recipientSms": {"phoneNumber": "+4799999999", "timeToLiveInSeconds": 360, "smsSettings": _SMS},
        },
    ),
    (
        "/future/orders/instant/email",
        {
            "idempotencyId": "instant",
            "sendersReference": "ref",
            "recipientEmail": {"emailAddress": "ola@example.no", "emailSettings": _EMAIL},
        },
    ),
]


def _string_paths(value: Any, path: str = "") -> list[str]:
    """The JSON path of every string in ``value``, as the API names fields (``a.b[0].c``)."""
    if isinstance(value, str):
        return [path]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _string_paths(item, f"{path}.{key}".lstrip("."))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _string_paths(item, f"{path}[{index}]")]
    return []


def _replaced(value: Any, path: str, text: str, at: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _replaced(v, path, text, f"{at}.{k}".lstrip(".")) for k, v in value.items()}
    if isinstance(value, list):
        return [_replaced(v, path, text, f"{at}[{i}]") for i, v in enumerate(value)]
    return text if at == path else value


TARGETS = [(url, body, path) for url, body in BODIES for path in _string_paths(body)]
BAD_CHARACTERS = st.one_of(st.just("\x00"), st.integers(0xD800, 0xDFFF).map(chr))


@st.composite
def unstorable_texts(draw: st.DrawFn) -> str:
    """Any text with at least one NUL or lone surrogate somewhere in it."""
    text = draw(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=20))
    index = draw(st.integers(0, len(text)))
    return text[:index] + draw(BAD_CHARACTERS) + text[index:]


def _post(client: APIClient, url: str, body: Any, **headers: Any) -> Any:
    # json.dumps writes a lone surrogate and NUL as \ud800 and \u0000 escapes, as a client would.
    return client.generic("POST", f"{API}{url}", json.dumps(body), content_type="application/json", **headers)


_PROPERTY = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_PROPERTY
@given(target=st.sampled_from(TARGETS), text=unstorable_texts())
def test_such_text_in_any_string_of_any_body_is_a_400_naming_its_path(
    api_client: APIClient, target: tuple[str, dict[str, Any], str], text: str
) -> None:
    url, body, path = target

    response = _post(api_client, url, _replaced(body, path, text))

    assert response.status_code == 400, (url, path, response.content)
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == {path: [MESSAGE]}
    assert not Order.objects.exists()


@_PROPERTY
@given(url=st.sampled_from([url for url, _ in BODIES]), text=unstorable_texts())
def test_such_text_in_a_property_name_is_a_400_naming_the_object(
    api_client: APIClient, url: str, text: str
) -> None:
    body = dict(BODIES[[u for u, _ in BODIES].index(url)][1])
    body["extra"] = {text: 1}

    response = _post(api_client, url, body)

    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == ["extra"]
    assert not Order.objects.exists()


def test_a_lone_surrogate_in_the_address_an_sms_order_ignores_is_a_400(api_client: APIClient) -> None:
    """The reported case: a UnicodeEncodeError in bulk_create, a 500."""
    body = '{"body": "Hei", "recipients": [{"mobileNumber": "+4799999999", "emailAddress": "\\ud800"}]}'

    response = api_client.generic("POST", f"{API}/orders/sms", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"recipients[0].emailAddress": [MESSAGE]}


def test_surrogate_pairs_are_ordinary_text(api_client: APIClient) -> None:
    """An emoji written as an escaped surrogate pair is one character, and welcome."""
    body = '{"body": "Hei \\ud83d\\ude00", "recipients": [{"mobileNumber": "+4799999999"}]}'

    response = api_client.generic("POST", f"{API}/orders/sms", body, content_type="application/json")

    assert response.status_code == 202, response.content


def test_at_most_the_error_limit_of_such_strings_is_listed(api_client: APIClient) -> None:
    recipients = [{"mobileNumber": "+4799999999", "emailAddress": "\ud800"}] * 1000
    body = {"body": "Hei", "recipients": recipients}

    response = _post(api_client, "/orders/sms", body)

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert len(errors) == 101
    assert errors["recipients[99].emailAddress"] == [MESSAGE]
    assert errors[""] == ["900 more errors are not listed."]


# --- Query parameters, path parameters, headers ---------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    url=st.sampled_from(
        [
            "/orders",
            f"/orders/{uuid.uuid4()}",
            f"/orders/{uuid.uuid4()}/status",
            f"/orders/{uuid.uuid4()}/notifications/sms",
            f"/future/shipment/{uuid.uuid4()}",
            "/future/shipment/feed",
            f"/future/orders/chain/{uuid.uuid4()}",
        ]
    ),
    name=st.sampled_from(["sendersReference", "seq", "pageSize", "orderBy", "other"]),
    text=st.text(max_size=10).map(lambda t: t + "\x00"),
)
def test_a_nul_in_any_query_parameter_is_a_400_naming_it(
    api_client: APIClient, url: str, name: str, text: str
) -> None:
    response = api_client.get(f"{API}{url}", {"sendersReference": "ref", name: text})

    assert response.status_code == 400, (url, name, response.content)
    assert response.json()["errors"] == {name: [MESSAGE]}


def test_a_nul_senders_reference_is_a_400(api_client: APIClient) -> None:
    """The reported case: PostgreSQL refused the query, a 500."""
    response = api_client.get(f"{API}/orders?sendersReference=%00")

    assert response.status_code == 400
    assert response.json()["errors"] == {"sendersReference": [MESSAGE]}


@pytest.mark.parametrize(
    "url", ["/orders/%00", "/orders/%00/status", "/future/shipment/%00", "/future/orders/chain/%00"]
)
def test_a_nul_in_a_path_parameter_is_a_400_naming_it(api_client: APIClient, url: str) -> None:
    response = api_client.get(f"{API}{url}")

    assert response.status_code == 400
    assert "id" in response.json()["errors"]


def test_a_nul_in_the_idempotency_key_is_a_400_naming_it(api_client: APIClient) -> None:
    body = {"body": "Hei", "recipients": [{"mobileNumber": "+4799999999"}]}

    response = _post(api_client, "/orders/sms", body, HTTP_IDEMPOTENCY_KEY="a\x00b")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["Idempotency-Key"]
