"""Delivery-report webhooks: Twilio status callbacks (signed) and anymail ESP tracking (HTTP Basic)."""

from __future__ import annotations

import base64
import json

import pytest
from django.test import Client

from dispatch.models import DeliveryReport, ReportState
from dispatch.services.sending import notifications_send
from fakes.twilio import TwilioFake
from tests.dispatch.sending_support import email_notification, fresh_providers, sms_notification

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_providers")]
__all__ = ["fresh_providers"]

ANYMAIL_URL = "/notifications/api/v1/webhooks/anymail/postmark/tracking/"


@pytest.fixture
def twilio_api(settings):
    fake = TwilioFake().start()
    settings.NOTIFICATIONS_SMS_PROVIDER = "twilio"
    settings.NOTIFICATIONS_TWILIO_ACCOUNT_SID = fake.account_sid
    settings.NOTIFICATIONS_TWILIO_AUTH_TOKEN = fake.auth_token
    settings.NOTIFICATIONS_TWILIO_API_BASE = fake.url
    settings.NOTIFICATIONS_TWILIO_CALLBACK_BASE_URI = "https://notify.example.com"
    yield fake
    fake.stop()


@pytest.fixture
def sent_sms(twilio_api):
    notification = sms_notification()
    notifications_send(channel="Sms")
    notification.refresh_from_db()
    return notification, twilio_api.messages[0]


def _post_callback(client: Client, twilio_api: TwilioFake, message, status, **kwargs):
    path, form, sig = twilio_api.status_callback(message, status, **kwargs)
    return client.post(path, form, HTTP_X_TWILIO_SIGNATURE=sig)


def test_a_signed_twilio_callback_marks_the_sms_delivered(sent_sms, twilio_api):
    notification, message = sent_sms
    response = _post_callback(Client(), twilio_api, message, "delivered")
    assert response.status_code == 204
    notification.refresh_from_db()
    assert notification.status == "Delivered"
    report = DeliveryReport.objects.get()
    assert (report.provider, report.reference, report.notification_id, report.state) == (
        "twilio",
        message["sid"],
        notification.id,
        ReportState.APPLIED,
    )
    assert json.loads(report.raw)["MessageStatus"] == "delivered"


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        ("undelivered", "30005", "Failed_InvalidRecipient"),
        ("undelivered", "30003", "Failed_Undelivered"),
        ("undelivered", "30004", "Failed_BarredReceiver"),
        ("failed", "30007", "Failed_Rejected"),
        ("failed", None, "Failed"),
    ],
)
def test_twilio_failure_callbacks_are_mapped_by_error_code(sent_sms, twilio_api, status, code, expected):
    notification, message = sent_sms
    assert _post_callback(Client(), twilio_api, message, status, error_code=code).status_code == 204
    notification.refresh_from_db()
    assert notification.status == expected


def test_intermediate_and_late_twilio_callbacks_change_nothing(sent_sms, twilio_api):
    notification, message = sent_sms
    client = Client()
    _post_callback(client, twilio_api, message, "sent")
    notification.refresh_from_db()
    assert notification.status == "Accepted"
    _post_callback(client, twilio_api, message, "delivered")
    _post_callback(client, twilio_api, message, "delivered")  # a duplicate
    _post_callback(client, twilio_api, message, "sent")  # out of order
    _post_callback(client, twilio_api, message, "undelivered", error_code="30003")  # too late
    notification.refresh_from_db()
    assert notification.status == "Delivered"
    states = list(DeliveryReport.objects.order_by("id").values_list("state", "reason"))
    assert states == [
        (ReportState.IGNORED, "INTERMEDIATE_STATUS"),
        (ReportState.APPLIED, ""),
        (ReportState.IGNORED, "DUPLICATE"),
        (ReportState.IGNORED, "INTERMEDIATE_STATUS"),
        (ReportState.DEAD, "FINAL_STATUS_ALREADY_SET"),
    ]


def test_a_twilio_callback_without_or_with_a_wrong_signature_is_401(sent_sms, twilio_api):
    notification, message = sent_sms
    path, form, _ = twilio_api.status_callback(message, "delivered")
    client = Client()
    missing = client.post(path, form)
    forged = client.post(
        path, form, HTTP_X_TWILIO_SIGNATURE=twilio_api.status_callback(message, "delivered", token="x")[2]
    )
    tampered = client.post(
        path,
        {**form, "MessageStatus": "failed"},
        HTTP_X_TWILIO_SIGNATURE=twilio_api.status_callback(message, "delivered")[2],
    )
    assert (missing.status_code, forged.status_code, tampered.status_code) == (401, 401, 401)
    assert missing["Content-Type"] == "application/problem+json"
    assert not DeliveryReport.objects.exists()
    notification.refresh_from_db()
    assert notification.status == "Accepted"


def test_a_signed_twilio_callback_without_a_status_is_400(twilio_api, settings):
    from dispatch.providers.twilio import signature

    form = {"MessageSid": "SM123"}
    url = "https://notify.example.com/notifications/api/v1/webhooks/twilio/status"
    response = Client().post(
        "/notifications/api/v1/webhooks/twilio/status",
        form,
        HTTP_X_TWILIO_SIGNATURE=signature(twilio_api.auth_token, url, form),
    )
    assert response.status_code == 400
    assert response.json()["status"] == 400


def test_a_twilio_callback_for_an_unknown_message_is_kept_for_later(twilio_api):
    from dispatch.providers.twilio import signature

    form = {"MessageSid": "SMunknown", "MessageStatus": "delivered"}
    url = "https://notify.example.com/notifications/api/v1/webhooks/twilio/status"
    response = Client().post(
        "/notifications/api/v1/webhooks/twilio/status",
        form,
        HTTP_X_TWILIO_SIGNATURE=signature(twilio_api.auth_token, url, form),
    )
    assert response.status_code == 204
    report = DeliveryReport.objects.get()
    assert (report.state, report.attempts) == (ReportState.PENDING, 1)


# --- anymail (Postmark's tracking webhook as the example ESP) ------------------------------------------


@pytest.fixture
def postmark(settings):
    settings.NOTIFICATIONS_ANYMAIL_ESP = "postmark"
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:s3cret", "POSTMARK_SERVER_TOKEN": "token"}


def _basic(user_password: str) -> str:
    return "Basic " + base64.b64encode(user_password.encode()).decode()


def _postmark_post(body, auth="hook:s3cret"):
    data = body if isinstance(body, str) else json.dumps(body)
    headers = {"HTTP_AUTHORIZATION": _basic(auth)} if auth else {}
    return Client().post(ANYMAIL_URL, data, content_type="application/json", **headers)


def _sent_email(**kwargs):
    return email_notification(status="Succeeded", provider="postmark", provider_reference="pm-0001", **kwargs)


def test_a_postmark_delivery_event_marks_the_email_delivered(postmark):
    notification = _sent_email()
    response = _postmark_post(
        {
            "RecordType": "Delivery",
            "MessageID": "pm-0001",
            "Recipient": notification.to_address,
            "DeliveredAt": "2026-01-01T10:00:00Z",
            "Metadata": {},
        }
    )
    assert response.status_code == 204
    notification.refresh_from_db()
    assert notification.status == "Delivered"
    report = DeliveryReport.objects.get()
    assert (report.provider, report.provider_status, report.state) == (
        "postmark",
        "delivered",
        ReportState.APPLIED,
    )


@pytest.mark.parametrize(
    ("bounce_type", "expected"),
    [
        ("HardBounce", "Failed_Bounced"),
        ("BadEmailAddress", "Failed_InvalidEmailFormat"),
        ("Blocked", "Failed_SupressedRecipient"),
    ],
)
def test_postmark_bounces_map_to_email_failure_statuses(postmark, bounce_type, expected):
    notification = _sent_email()
    response = _postmark_post(
        {
            "RecordType": "Bounce",
            "Type": bounce_type,
            "MessageID": "pm-0001",
            "Email": notification.to_address,
            "BouncedAt": "2026-01-01T10:00:00Z",
        }
    )
    assert response.status_code == 204
    notification.refresh_from_db()
    assert notification.status == expected


def test_an_anymail_event_is_matched_by_the_notification_id_in_its_metadata(postmark):
    notification = email_notification(status="Succeeded", provider="postmark", provider_reference=None)
    _postmark_post(
        {
            "RecordType": "Delivery",
            "MessageID": "pm-other",
            "Recipient": "x@domain.com",
            "DeliveredAt": "2026-01-01T10:00:00Z",
            "Metadata": {"notification_id": str(notification.id)},
        }
    )
    notification.refresh_from_db()
    assert notification.status == "Delivered"


@pytest.mark.parametrize("auth", [None, "hook:wrong", "someone:s3cret"])
def test_the_anymail_webhook_needs_its_basic_credentials(postmark, auth):
    notification = _sent_email()
    response = _postmark_post({"RecordType": "Delivery", "MessageID": "pm-0001"}, auth=auth)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")
    assert not DeliveryReport.objects.exists()
    notification.refresh_from_db()
    assert notification.status == "Succeeded"


def test_the_anymail_webhook_refuses_everything_when_no_secret_is_configured(postmark, settings):
    settings.ANYMAIL = {}
    assert _postmark_post({"RecordType": "Delivery", "MessageID": "pm-0001"}).status_code == 401


def test_a_malformed_anymail_body_is_400(postmark):
    assert _postmark_post("{not json").status_code == 400
    assert _postmark_post(["a list"]).status_code == 400


def test_an_esp_that_is_not_configured_has_no_webhook(postmark):
    response = Client().post(
        "/notifications/api/v1/webhooks/anymail/sendgrid/tracking/",
        "[]",
        content_type="application/json",
        HTTP_AUTHORIZATION=_basic("hook:s3cret"),
    )
    assert response.status_code == 404


def test_webhooks_answer_only_post(postmark):
    assert Client().get(ANYMAIL_URL).status_code == 405


@pytest.mark.parametrize(
    ("field", "status", "code"),
    [
        ("status", "deliv\x00ered", None),
        ("error code", "undelivered", "300\x0005"),
        ("sid", "delivered", None),
    ],
)
def test_a_signed_callback_with_a_nul_in_any_field_is_stored_not_a_503(
    sent_sms, twilio_api, field, status, code
):
    """PostgreSQL refuses NUL in text: a report holding one is stored with NUL as U+FFFD, not answered 503
    (which the provider would retry for ever)."""
    message = dict(sent_sms[1])
    if field == "sid":
        message["sid"] += "\x00"

    response = _post_callback(Client(), twilio_api, message, status, error_code=code)

    assert response.status_code == 204
    report = DeliveryReport.objects.get()
    stored = report.provider_status + report.raw + (report.reference or "")
    assert "\x00" not in stored
    assert ("\ufffd" in stored) == (field != "error code")  # the form's error code is in raw as JSON: \u0000
