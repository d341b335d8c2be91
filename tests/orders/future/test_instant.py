"""POST /future/orders/instant/sms and /email: one message sent while the client waits, through the API.

The provider is the run command's sandbox, or Twilio's API on a local fake for failures at the network
edge; nothing is mocked.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from dispatch.models import AttemptOutcome, DeliveryAttempt, ProviderPause, SandboxMessage
from dispatch.services.reports import sandbox_reports_deliver
from fakes.twilio import TwilioFake
from orders.models import (
    EmailNotification,
    Order,
    OrderChain,
    OrderStatus,
    OrderType,
    SmsNotification,
    StatusFeedEntry,
)
from templates.models import SmsTemplate
from tests.orders.future.conftest import FUTURE, post_future

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_providers")]


def instant_sms(
    number: str = "+4799999999", *, idempotency_id: str | None = None, ttl: Any = 300, **settings: Any
) -> dict[str, Any]:
    return {
        "idempotencyId": idempotency_id or f"sms-{uuid.uuid4()}",
        "sendersReference": "login",
        "recipientSms": {
            "phoneNumber": number,
            "timeToLiveInSeconds": ttl,
            "smsSettings": {"body": "Engangskoden din er 482913.", **settings},
        },
    }


def instant_email(
    address: str = "ola@example.no", *, idempotency_id: str | None = None, **settings: Any
) -> dict:
    return {
        "idempotencyId": idempotency_id or f"email-{uuid.uuid4()}",
        "recipientEmail": {
            "emailAddress": address,
            "emailSettings": {"subject": "Bekreft", "body": "<p>Koden er 482913</p>", **settings},
        },
    }


@pytest.fixture
def twilio_api(settings: Any) -> Any:
    fake = TwilioFake().start()
    settings.NOTIFICATIONS_SMS_PROVIDER = "twilio"
    settings.NOTIFICATIONS_TWILIO_ACCOUNT_SID = fake.account_sid
    settings.NOTIFICATIONS_TWILIO_AUTH_TOKEN = fake.auth_token
    settings.NOTIFICATIONS_TWILIO_API_BASE = fake.url
    settings.NOTIFICATIONS_TWILIO_MESSAGING_SERVICE_SID = ""
    settings.NOTIFICATIONS_TWILIO_CALLBACK_BASE_URI = "https://notify.example.com"
    settings.NOTIFICATIONS_TWILIO_TIMEOUT_SECONDS = 5
    yield fake
    fake.stop()


# --- Sent --------------------------------------------------------------------------------------------


def test_an_instant_sms_is_sent_before_the_answer_and_kept_as_an_instant_order(api_client: APIClient) -> None:
    before = timezone.now()
    response = post_future(api_client, "/orders/instant/sms", instant_sms(ttl=120, sender="Etaten"))

    assert response.status_code == 201, response.content
    body = response.json()
    chain_id, shipment_id = body["notificationOrderId"], body["notification"]["shipmentId"]
    assert body == {
        "notificationOrderId": chain_id,
        "notification": {"shipmentId": shipment_id, "sendersReference": "login", "smsPartCount": 1},
    }
    assert response["Location"] == f"http://testserver{FUTURE}/orders/chain/{chain_id}"
    (sent,) = SandboxMessage.objects.all()
    assert (sent.recipient, sent.sender, sent.body) == (
        "+4799999999",
        "Etaten",
        "Engangskoden din er 482913.",
    )
    order = Order.objects.get(id=shipment_id)
    assert (order.type, order.status, order.sending_time_policy) == (
        OrderType.INSTANT,
        "Processed",
        "Anytime",
    )
    assert before <= order.requested_send_time <= timezone.now()
    notification = SmsNotification.objects.get(order=order)
    assert (notification.status, notification.parts, notification.attempts) == ("Accepted", 1, 1)
    assert notification.expires_at == order.requested_send_time + timedelta(seconds=120)
    (attempt,) = DeliveryAttempt.objects.all()
    assert (attempt.notification_id, attempt.outcome, attempt.status, attempt.provider) == (
        notification.id,
        AttemptOutcome.ACCEPTED,
        "Accepted",
        "sandbox",
    )


def test_its_delivery_report_completes_it_and_writes_its_feed_entry(
    api_client: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    shipment_id = post_future(api_client, "/orders/instant/sms", instant_sms()).json()["notification"][
        "shipmentId"
    ]

    with (
        time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert sandbox_reports_deliver() == 1

    manifest = api_client.get(f"{FUTURE}/shipment/{shipment_id}").json()
    assert (manifest["type"], manifest["status"]) == ("Instant", "Order_Completed")
    assert manifest["recipients"][0]["status"] == "SMS_Delivered"
    (entry,) = api_client.get(f"{FUTURE}/shipment/feed").json()
    assert (entry["shipmentId"], entry["shipmentType"]) == (shipment_id, "Instant")


def test_an_instant_email_is_sent_with_its_sender_and_content_type(api_client: APIClient) -> None:
    response = post_future(
        api_client,
        "/orders/instant/email",
        instant_email(contentType="Html", senderEmailAddress="etat@example.no"),
    )

    assert response.status_code == 201, response.content
    assert "smsPartCount" not in response.json()["notification"]
    (sent,) = SandboxMessage.objects.all()
    assert (sent.recipient, sent.sender, sent.subject, sent.content_type) == (
        "ola@example.no",
        "etat@example.no",
        "Bekreft",
        "Html",
    )
    notification = EmailNotification.objects.get()
    assert notification.status == "Succeeded"
    assert abs((notification.expires_at - notification.created_at) - timedelta(hours=48)) < timedelta(
        seconds=1
    )


def test_defaults_are_the_configured_senders_and_plain_text(api_client: APIClient) -> None:
    post_future(api_client, "/orders/instant/sms", instant_sms(sender=None))
    post_future(api_client, "/orders/instant/email", instant_email(senderEmailAddress=None))

    senders = dict(SandboxMessage.objects.values_list("channel", "sender"))
    assert senders == {"Sms": "Altinn", "Email": "noreply@altinn.cloud"}
    assert SandboxMessage.objects.get(channel="Email").content_type == "Plain"


def test_the_part_count_is_stored_and_returned(api_client: APIClient) -> None:
    response = post_future(api_client, "/orders/instant/sms", instant_sms(body="Hei 👋 " + "å" * 70))

    assert response.json()["notification"]["smsPartCount"] == 2
    assert SmsNotification.objects.get().parts == 2


# --- Idempotency -------------------------------------------------------------------------------------


def test_a_repeat_returns_the_first_receipt_with_200_and_sends_nothing_again(api_client: APIClient) -> None:
    first = post_future(api_client, "/orders/instant/sms", instant_sms(idempotency_id="login-4f1e"))
    again = post_future(
        api_client,
        "/orders/instant/sms",
        instant_sms("+4799999998", idempotency_id="login-4f1e", body="Other"),
    )

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert SandboxMessage.objects.count() == 1


def test_instant_orders_and_chains_are_separate_idempotency_namespaces(api_client: APIClient) -> None:
    instant = post_future(api_client, "/orders/instant/sms", instant_sms(idempotency_id="shared"))
    chain = post_future(
        api_client,
        "/orders",
        {
            "idempotencyId": "shared",
            "recipient": {"recipientSms": {"phoneNumber": "+4799999999", "smsSettings": {"body": "Hei"}}},
        },
    )

    assert (instant.status_code, chain.status_code) == (201, 201)


def test_a_repeat_while_the_first_is_still_sending_is_a_409_with_retry_after(api_client: APIClient) -> None:
    OrderChain.objects.create(
        creator="ttd", idempotency_id="busy", type="Instant", request={}, created_at=timezone.now()
    )

    response = post_future(api_client, "/orders/instant/sms", instant_sms(idempotency_id="busy"))

    assert response.status_code == 409
    assert response["Retry-After"] == "1"
    assert not SandboxMessage.objects.exists()


def test_a_request_that_died_mid_send_is_answered_from_what_it_stored(api_client: APIClient) -> None:
    """After the in-flight lease, the notification belongs to the pipeline: the repeat gets its receipt."""
    created = timezone.now() - timedelta(minutes=5)
    chain = OrderChain.objects.create(
        creator="ttd", idempotency_id="died", type="Instant", request={}, created_at=created
    )
    order = Order.objects.create(
        creator="ttd",
        type=OrderType.INSTANT,
        chain=chain,
        requested_send_time=created,
        notification_channel="Sms",
        status=OrderStatus.PROCESSED,
        sms_template=SmsTemplate.objects.create(sender_number="Altinn", body="Kode 1"),
    )

    response = post_future(api_client, "/orders/instant/sms", instant_sms(idempotency_id="died"))

    assert response.status_code == 200
    assert response.json() == {
        "notificationOrderId": str(chain.id),
        "notification": {"shipmentId": str(order.id), "smsPartCount": 1},
    }
    assert not SandboxMessage.objects.exists()


# --- Not sent ----------------------------------------------------------------------------------------


def test_a_refused_recipient_is_a_503_problem_and_only_the_attempt_is_kept(api_client: APIClient) -> None:
    response = post_future(
        api_client, "/orders/instant/sms", instant_sms("+4799000001", idempotency_id="refused")
    )

    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert (body["type"], body["title"], body["code"]) == (
        "urn:altinn:error:NOT-00004",
        "A temporary network failure occurred",
        "NOT-00004",
    )
    assert "Failed_InvalidRecipient" in body["detail"]
    assert "will fail the same way" in body["detail"]
    assert not Order.objects.exists()
    assert not OrderChain.objects.exists()
    assert not SmsTemplate.objects.exists()
    assert not StatusFeedEntry.objects.exists()
    (attempt,) = DeliveryAttempt.objects.all()
    assert (attempt.outcome, attempt.status) == (AttemptOutcome.PERMANENT, "Failed_InvalidRecipient")
    # Nothing was kept, so the same idempotencyId tries again.
    assert (
        post_future(
            api_client, "/orders/instant/sms", instant_sms("+4799000001", idempotency_id="refused")
        ).status_code
        == 503
    )
    assert DeliveryAttempt.objects.count() == 2


def test_a_provider_error_is_a_503_and_the_same_request_succeeds_once_the_provider_recovers(
    api_client: APIClient, twilio_api: TwilioFake
) -> None:
    twilio_api.rules["+4799999999"] = "error-once"

    failed = post_future(api_client, "/orders/instant/sms", instant_sms(idempotency_id="otp-1"))

    assert failed.status_code == 503
    assert "Try again with the same idempotencyId" in failed.json()["detail"]
    assert not Order.objects.exists()
    assert DeliveryAttempt.objects.get().outcome == AttemptOutcome.TRANSIENT

    sent = post_future(api_client, "/orders/instant/sms", instant_sms(idempotency_id="otp-1"))

    assert sent.status_code == 201
    (message,) = twilio_api.messages
    notification = SmsNotification.objects.get()
    assert (message["To"], notification.provider_reference) == ("+4799999999", message["sid"])


def test_an_unreachable_provider_is_a_503_and_pauses_it_as_batch_sending_does(
    api_client: APIClient, settings: Any
) -> None:
    settings.NOTIFICATIONS_SMS_PROVIDER = "twilio"
    settings.NOTIFICATIONS_TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    settings.NOTIFICATIONS_TWILIO_AUTH_TOKEN = "token"
    settings.NOTIFICATIONS_TWILIO_API_BASE = "http://127.0.0.1:9"  # refused
    settings.NOTIFICATIONS_TWILIO_CALLBACK_BASE_URI = "https://notify.example.com"

    response = post_future(api_client, "/orders/instant/sms", instant_sms())

    assert response.status_code == 503
    assert ProviderPause.objects.filter(key="Sms:twilio").exists()
    # While paused, the provider is not called at all.
    again = post_future(api_client, "/orders/instant/sms", instant_sms())
    assert again.status_code == 503
    assert "paused" in again.json()["detail"]
    assert DeliveryAttempt.objects.count() == 1
    assert not Order.objects.exists()


# --- Validation and access ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ttl", "status"), [(59, 400), (60, 201), (172_800, 201), (172_801, 400), ("60", 400)]
)
def test_the_time_to_live_is_60_to_172800_seconds(api_client: APIClient, ttl: Any, status: int) -> None:
    response = post_future(api_client, "/orders/instant/sms", instant_sms(ttl=ttl))

    assert response.status_code == status
    if status == 400 and isinstance(ttl, int):
        assert response.json()["errors"] == {
            "recipientSms.timeToLiveInSeconds": [
                "Time-to-live must be between 60 and 172800 seconds (48 hours)."
            ]
        }


@pytest.mark.parametrize(
    ("path", "body", "errors"),
    [
        (
            "/orders/instant/sms",
            instant_sms("+4712345678"),
            {"recipientSms.phoneNumber": ["Recipient phone number is not a valid mobile number."]},
        ),
        (
            "/orders/instant/sms",
            {**instant_sms(), "idempotencyId": ""},
            {"idempotencyId": ["IdempotencyId cannot be null or empty."]},
        ),
        (
            "/orders/instant/sms",
            instant_sms(body=""),
            {"recipientSms.smsSettings.body": ["SMS body cannot be null or empty."]},
        ),
        (
            "/orders/instant/sms",
            {"idempotencyId": "x"},
            {"recipientSms": ["This field is required."]},
        ),
        (
            "/orders/instant/email",
            instant_email("nope"),
            {"recipientEmail.emailAddress": ["Invalid email address format."]},
        ),
        (
            "/orders/instant/email",
            instant_email(subject="", senderEmailAddress="bad"),
            {
                "recipientEmail.emailSettings.subject": ["The email subject cannot be empty."],
                "recipientEmail.emailSettings.senderEmailAddress": ["The sender email address is not valid."],
            },
        ),
    ],
)
def test_an_invalid_instant_order_is_a_400_and_nothing_is_sent(
    api_client: APIClient, path: str, body: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    response = post_future(api_client, path, body)

    assert response.status_code == 400
    assert response.json()["errors"] == errors
    assert not SandboxMessage.objects.exists()


def test_a_caller_without_a_creator_gets_403_and_nothing_is_sent_or_kept(make_token: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(org=None)}")

    for path, body in (("/orders/instant/sms", instant_sms()), ("/orders/instant/email", instant_email())):
        assert post_future(client, path, body).status_code == 403
    assert not SandboxMessage.objects.exists()
    assert not OrderChain.objects.exists()


def test_the_request_is_kept_with_the_instant_order(api_client: APIClient) -> None:
    body = {**instant_sms(), "note": "a note"}

    response = post_future(api_client, "/orders/instant/sms", body)

    stored = OrderChain.objects.get(id=response.json()["notificationOrderId"]).request
    assert stored["recipientSms"] == body["recipientSms"]
    assert stored["note"] == "a note"


def test_a_nul_in_a_field_of_an_instant_order_nobody_reads_is_a_400(api_client: APIClient) -> None:
    response = post_future(api_client, "/orders/instant/sms", {**instant_sms(), "note": "a\u0000b"})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["note"]
    assert not OrderChain.objects.exists()


def test_an_instant_sms_goes_to_a_provider_the_failover_still_uses(
    api_client: APIClient, settings: Any
) -> None:
    """With several SMS providers, the instant send takes the batch sender's choice: not a paused one."""
    settings.NOTIFICATIONS_SMS_PROVIDERS = [("twilio", 5), ("sandbox", 1)]
    ProviderPause.objects.create(key="Sms:twilio", paused_until=timezone.now() + timedelta(minutes=5))

    response = post_future(api_client, "/orders/instant/sms", instant_sms())

    assert response.status_code == 201
    assert SmsNotification.objects.get().provider == "sandbox"
    assert SandboxMessage.objects.count() == 1
