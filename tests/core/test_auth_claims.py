"""The creator claim, from either kind of token, is checked once in the authentication.

A value no creator column can hold (too long, empty, a NUL or other control character, a character outside
the org code alphabet, a list, a number, an object) is refused with a 401/403 problem on every endpoint,
never a 500 and never stored.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.apps import apps
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from core.auth import CREATOR_MAX_LENGTH
from core.tokens import private_pem
from orders.models import Order
from tests.conftest import PLATFORM_TEST_KID

API = "/notifications/api/v1"
PROBLEM = "application/problem+json"
ORG_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
VALID_ORG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

SMS_ORDER = {"body": "x", "recipients": [{"mobileNumber": "+4799999999"}]}


def _future_order() -> dict[str, Any]:
    return {
        "idempotencyId": f"id-{uuid.uuid4()}",
        "recipient": {"recipientSms": {"phoneNumber": "+4799999999", "smsSettings": {"body": "x"}}},
    }


def _send(client: APIClient, endpoint: str, headers: dict[str, str]) -> Any:
    if endpoint == "POST /orders/sms":
        body = json.dumps(SMS_ORDER)
        return client.post(f"{API}/orders/sms", data=body, content_type="application/json", **headers)
    if endpoint == "POST /future/orders":
        body = json.dumps(_future_order())
        return client.post(f"{API}/future/orders", data=body, content_type="application/json", **headers)
    if endpoint == "GET /future/shipment/feed":
        return client.get(f"{API}/future/shipment/feed", **headers)
    return client.get(f"{API}/whoami", **headers)


ENDPOINTS = ["GET /whoami", "POST /orders/sms", "POST /future/orders", "GET /future/shipment/feed"]

too_long = st.text(alphabet=ORG_ALPHABET, min_size=CREATOR_MAX_LENGTH + 1, max_size=3 * CREATOR_MAX_LENGTH)
with_a_bad_character = st.text(min_size=1, max_size=40).filter(lambda value: not VALID_ORG.fullmatch(value))
bad_orgs = st.one_of(
    too_long,
    with_a_bad_character,
    st.sampled_from(["", "\x00", "ttd\x00", "tt\nd", "ttd\r\n", "\x7f", " ttd", "tt d", "-ttd", "ttd/app"]),
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.lists(st.text(alphabet=ORG_ALPHABET, min_size=1, max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
)


def _token_with_org(make_token: Callable[..., str], kind: str, org: Any) -> dict[str, str]:
    if kind == "bearer":
        return {"HTTP_AUTHORIZATION": f"Bearer {make_token(org=None, extra_claims={'urn:altinn:org': org})}"}
    # PyJWT refuses to encode a non-string iss, so the claims are signed as a raw JWS payload.
    minted = make_token(org="ttd", platform=True)
    claims = {**jwt.decode(minted, options={"verify_signature": False}), "iss": org}
    token = jwt.api_jws.encode(
        json.dumps(claims).encode(),
        PLATFORM_KEY_PEM[0],
        algorithm="RS256",
        headers={"kid": PLATFORM_TEST_KID, "typ": "JWT"},
    )
    return {"HTTP_PLATFORMACCESSTOKEN": token}


# The platform key of the session, set by the autouse fixture below (hypothesis tests take no new fixtures).
PLATFORM_KEY_PEM: list[bytes] = []


@pytest.fixture(autouse=True)
def _platform_key_pem(platform_signing_key: rsa.RSAPrivateKey) -> None:
    PLATFORM_KEY_PEM[:] = [private_pem(platform_signing_key)]


@pytest.mark.django_db
@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(org=bad_orgs, kind=st.sampled_from(["bearer", "platform"]), endpoint=st.sampled_from(ENDPOINTS))
def test_a_creator_claim_no_column_can_hold_is_refused_on_every_endpoint(
    settings: Any, make_token: Callable[..., str], org: Any, kind: str, endpoint: str
) -> None:
    # Even an operator who lists the value as a trusted platform issuer does not get it stored.
    if isinstance(org, str):
        settings.NOTIFICATIONS_PLATFORM_TRUSTED_ISSUERS = ["ttd", org]

    response = _send(APIClient(), endpoint, _token_with_org(make_token, kind, org))

    assert response.status_code in (401, 403), (response.status_code, response.content[:300])
    assert response["Content-Type"] == PROBLEM
    assert response.json()["status"] == response.status_code
    assert not Order.objects.exists()


@pytest.mark.django_db
@hypothesis_settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    org=st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,99}\Z"),
    kind=st.sampled_from(["bearer", "platform"]),
)
def test_every_org_code_that_fits_the_column_is_accepted_and_stored(
    settings: Any, make_token: Callable[..., str], org: str, kind: str
) -> None:
    settings.NOTIFICATIONS_PLATFORM_TRUSTED_ISSUERS = [org]
    headers = _token_with_org(make_token, kind, org)

    whoami = _send(APIClient(), "GET /whoami", headers)
    placed = _send(APIClient(), "POST /orders/sms", headers)

    assert whoami.status_code == 200, whoami.content
    assert whoami.json()["creator"] == org
    assert placed.status_code == 202, placed.content
    assert Order.objects.get(id=placed.json()["orderId"]).creator == org


def test_an_empty_org_claim_counts_as_missing_and_is_403(make_token: Callable[..., str]) -> None:
    response = APIClient().get(f"{API}/whoami", **_token_with_org(make_token, "bearer", ""))

    assert response.status_code == 403


def test_every_creator_column_holds_the_longest_creator_the_authentication_accepts() -> None:
    columns = [
        (model.__name__, field.max_length)
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if field.name == "creator" and hasattr(field, "max_length")
    ]
    assert columns
    assert all(max_length >= CREATOR_MAX_LENGTH for _, max_length in columns), columns
