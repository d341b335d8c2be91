"""Webhooks check credentials before they interpret a body, and refuse oversized bodies unread."""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import pytest
from django.test import Client

from dispatch.models import DeliveryReport
from dispatch.providers.twilio import signature

pytestmark = pytest.mark.django_db

TWILIO_PATH = "/notifications/api/v1/webhooks/twilio/status"
TWILIO_URL = "https://notify.example.com" + TWILIO_PATH
ANYMAIL_PATH = "/notifications/api/v1/webhooks/anymail/postmark/tracking/"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture(autouse=True)
def _providers(settings) -> None:
    settings.NOTIFICATIONS_TWILIO_AUTH_TOKEN = "twilio-token"
    settings.NOTIFICATIONS_TWILIO_CALLBACK_BASE_URI = "https://notify.example.com"
    settings.NOTIFICATIONS_ANYMAIL_ESP = "postmark"
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:s3cret", "POSTMARK_SERVER_TOKEN": "token"}
    settings.NOTIFICATIONS_WEBHOOK_MAX_BYTES = 4096


def _basic(user_password: str) -> str:
    return "Basic " + base64.b64encode(user_password.encode()).decode()


@pytest.mark.parametrize(
    "body",
    [
        "%%%\xff&&==",  # not a form at all
        "a=1&" * 2000,  # more fields than Django would parse (its 400 comes before any signature check)
        '{"MessageSid": "SM1", "MessageStatus": "delivered"}',  # JSON where a form belongs
    ],
)
def test_a_malformed_twilio_body_with_a_bad_signature_is_401_not_400(settings, body: str) -> None:
    settings.NOTIFICATIONS_WEBHOOK_MAX_BYTES = 1024 * 1024
    response = Client().post(TWILIO_PATH, body, content_type=FORM, HTTP_X_TWILIO_SIGNATURE="forged")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert not DeliveryReport.objects.exists()


def test_a_malformed_twilio_body_without_a_signature_is_401() -> None:
    assert Client().post(TWILIO_PATH, "%%%", content_type=FORM).status_code == 401


def test_a_malformed_anymail_body_with_bad_credentials_is_401_not_400() -> None:
    for auth in ({}, {"HTTP_AUTHORIZATION": _basic("hook:wrong")}, {"HTTP_AUTHORIZATION": "Basic %%%"}):
        response = Client().post(ANYMAIL_PATH, "{not json", content_type="application/json", **auth)
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Basic")


def test_the_same_malformed_anymail_body_with_good_credentials_is_400() -> None:
    response = Client().post(
        ANYMAIL_PATH, "{not json", content_type="application/json", HTTP_AUTHORIZATION=_basic("hook:s3cret")
    )
    assert response.status_code == 400


def test_an_oversized_anymail_body_is_413_and_not_stored() -> None:
    response = Client().post(
        ANYMAIL_PATH,
        "[" + " " * 5000 + "]",
        content_type="application/json",
        HTTP_AUTHORIZATION=_basic("hook:s3cret"),
    )
    assert response.status_code == 413
    assert response.json()["status"] == 413
    assert not DeliveryReport.objects.exists()


def test_an_oversized_anymail_body_with_bad_credentials_is_still_401() -> None:
    response = Client().post(ANYMAIL_PATH, "[" + " " * 5000 + "]", content_type="application/json")
    assert response.status_code == 401


def test_an_oversized_but_correctly_signed_twilio_callback_is_413() -> None:
    form = {"MessageSid": "SM1", "MessageStatus": "delivered", "Padding": "x" * 5000}
    response = Client().post(
        TWILIO_PATH,
        urlencode(form),
        content_type=FORM,
        HTTP_X_TWILIO_SIGNATURE=signature("twilio-token", TWILIO_URL, form),
    )
    assert response.status_code == 413
    assert not DeliveryReport.objects.exists()


def test_a_correctly_signed_twilio_callback_under_the_limit_is_stored() -> None:
    form = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    response = Client().post(
        TWILIO_PATH,
        urlencode(form),
        content_type=FORM,
        HTTP_X_TWILIO_SIGNATURE=signature("twilio-token", TWILIO_URL, form),
    )
    assert response.status_code == 204
    assert DeliveryReport.objects.get().reference == "SM1"
