"""SMS over Twilio's Messages API to a local HTTP fake: requests sent, statuses and each failure class."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.utils import timezone

from dispatch.models import AttemptOutcome, DeliveryAttempt, ProviderPause
from dispatch.services.sending import notifications_send
from fakes.twilio import GARBLED_MESSAGE, TwilioFake
from orders.models import OrderStatus
from tests.dispatch.sending_support import fresh_providers, sms_notification
from tests.factories import OrderFactory, SmsTemplateFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_providers")]
__all__ = ["fresh_providers"]


@pytest.fixture
def twilio_api(settings):
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


def _sms(number: str = "+4799999999", sender: str = "Altinn", body: str = "Hei fra Altinn"):
    order = OrderFactory(
        sms_template=SmsTemplateFactory(sender_number=sender, body=body), status=OrderStatus.PROCESSED
    )
    return sms_notification(order=order, mobile_number=number)


def test_an_sms_is_posted_with_recipient_sender_body_and_a_status_callback_naming_the_notification(
    twilio_api,
):
    notification = _sms(number="0047 999 99 999", body="Hei 😀")
    notifications_send(channel="Sms")

    [sent] = twilio_api.messages
    assert (sent["To"], sent["From"], sent["Body"]) == ("+4799999999", "Altinn", "Hei 😀")
    callback = urlsplit(sent["StatusCallback"])
    assert (callback.scheme, callback.netloc, callback.path) == (
        "https",
        "notify.example.com",
        "/notifications/api/v1/webhooks/twilio/status",
    )
    assert parse_qs(callback.query) == {"n": [str(notification.id)]}
    notification.refresh_from_db()
    assert (notification.status, notification.provider, notification.provider_reference) == (
        "Accepted",
        "twilio",
        sent["sid"],
    )


def test_a_messaging_service_replaces_the_sender(twilio_api, settings):
    settings.NOTIFICATIONS_TWILIO_MESSAGING_SERVICE_SID = "MG" + "1" * 32
    _sms(sender="004712345678")
    notifications_send(channel="Sms")
    [sent] = twilio_api.messages
    assert sent["MessagingServiceSid"] == "MG" + "1" * 32
    assert "From" not in sent


def test_an_international_sender_number_is_sent_in_e164(twilio_api):
    _sms(sender="004712345678")
    notifications_send(channel="Sms")
    assert twilio_api.messages[0]["From"] == "+4712345678"


def test_a_batch_reuses_one_http_connection(twilio_api):
    for n in range(4):
        _sms(number=f"+4790000{n:03d}")
    assert notifications_send(channel="Sms").accepted == 4
    assert len(twilio_api.client_ports) == 1


@pytest.mark.parametrize(
    ("rule", "status"), [("invalid", "Failed_InvalidRecipient"), ("stopped", "Failed_BarredReceiver")]
)
def test_a_refused_recipient_is_a_permanent_failure(twilio_api, rule, status):
    notification = _sms(number="+4790000100")
    twilio_api.rules["+4790000100"] = rule
    notifications_send(channel="Sms")
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (status, 1)
    attempt = DeliveryAttempt.objects.get(notification_id=notification.id)
    assert attempt.raw_response.startswith("400 ")


def test_an_answer_with_nul_tab_newline_and_backslash_is_recorded_not_lost(twilio_api):
    """PostgreSQL refuses NUL in text: a provider's answer holding one must not fail the chunk's record (its
    messages would be sent again when their lease ran out). NUL is recorded as U+FFFD, the rest verbatim."""
    garbled = _sms(number="+4790000104")
    fine = _sms(number="+4790000105")
    twilio_api.rules["+4790000104"] = "garbled"

    summary = notifications_send(channel="Sms")

    assert (summary.accepted, summary.failed) == (1, 1)
    garbled.refresh_from_db()
    fine.refresh_from_db()
    assert (garbled.status, fine.status) == ("Failed_InvalidRecipient", "Accepted")
    stored = GARBLED_MESSAGE.replace("\x00", "\ufffd")
    assert stored in garbled.last_error
    attempt = DeliveryAttempt.objects.get(notification_id=garbled.id)
    assert stored in attempt.error
    assert attempt.raw_response.startswith("400 ")
    assert "\\u0000" in attempt.raw_response
    assert DeliveryAttempt.objects.get(notification_id=fine.id).provider_reference == fine.provider_reference


def test_a_429_pauses_twilio_until_retry_after_without_spending_budgets(twilio_api):
    throttled = _sms(number="+4790000101")
    waiting = _sms(number="+4790000102")
    twilio_api.rules["+4790000101"] = "throttle-once"

    summary = notifications_send(channel="Sms")

    assert summary.paused_until is not None
    pause = ProviderPause.objects.get(key="Sms:twilio")
    assert timedelta(seconds=1) < pause.paused_until - timezone.now() <= timedelta(seconds=2)
    for notification in (throttled, waiting):
        notification.refresh_from_db()
        assert (notification.status, notification.attempts) == ("New", 0)
    assert twilio_api.requests == 1  # nothing more was tried while throttled
    with time_machine.travel(timezone.now() + timedelta(seconds=3), tick=False):
        assert notifications_send(channel="Sms").accepted == 2


@pytest.mark.parametrize("rule", ["error-once", "drop-once"])
def test_a_server_error_or_dropped_connection_is_retried(twilio_api, rule):
    notification = _sms(number="+4790000103")
    twilio_api.rules["+4790000103"] = rule
    notifications_send(channel="Sms")
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("New", 1)
    with time_machine.travel(notification.not_before + timedelta(seconds=1), tick=False):
        notifications_send(channel="Sms")
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("Accepted", 2)
    outcomes = list(
        DeliveryAttempt.objects.filter(notification_id=notification.id)
        .order_by("id")
        .values_list("outcome", flat=True)
    )
    assert outcomes == [AttemptOutcome.TRANSIENT, AttemptOutcome.ACCEPTED]


def test_wrong_credentials_hold_the_batch_without_failing_it(twilio_api, settings):
    settings.NOTIFICATIONS_TWILIO_AUTH_TOKEN = "wrong"
    notification = _sms()
    notifications_send(channel="Sms")
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("New", 0)
    assert "401" in notification.last_error


def test_an_unreachable_api_is_an_outage(twilio_api):
    twilio_api.stop()
    notification = _sms()
    summary = notifications_send(channel="Sms")
    assert summary.released == 1
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("New", 0)
