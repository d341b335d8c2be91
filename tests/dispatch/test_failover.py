"""SMS provider failover: weighted choice, health switches with their events, half-open probing, and two
local fakes (an SMSC and the Twilio API) of which one fails."""

from __future__ import annotations

import logging
import random
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from dispatch.models import (
    AttemptOutcome,
    DeliveryAttempt,
    ProviderHealth,
    ProviderHealthEvent,
    ProviderPause,
    ProviderState,
)
from dispatch.services.failover import (
    health_key,
    sms_provider_choose,
    sms_providers,
    sms_providers_health_evaluate,
)
from dispatch.services.sending import notifications_send
from fakes.smpp import SmppFake
from fakes.twilio import TwilioFake
from orders.models import OrderStatus, SmsNotification, SmsStatus
from tests.dispatch.sending_support import fresh_providers
from tests.factories import OrderFactory, SmsNotificationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_providers")]
__all__ = ["fresh_providers"]


@pytest.fixture
def two_providers(settings):
    settings.NOTIFICATIONS_SMS_PROVIDERS = [("smpp", 3), ("twilio", 1)]
    settings.NOTIFICATIONS_SEND_BATCH_SIZE = 100
    settings.NOTIFICATIONS_SMS_FAILOVER_MIN_ATTEMPTS = 10
    settings.NOTIFICATIONS_SMS_FAILOVER_ERROR_RATE = 0.5
    settings.NOTIFICATIONS_SMS_FAILOVER_LATENCY_MS = 2000
    settings.NOTIFICATIONS_SMS_FAILOVER_WINDOW_SECONDS = 60
    settings.NOTIFICATIONS_SMS_FAILOVER_COOLDOWN_SECONDS = 60
    settings.NOTIFICATIONS_SMS_FAILOVER_PROBE_SHARE = 0.1
    settings.NOTIFICATIONS_SMS_FAILOVER_PROBE_BATCH = 5
    settings.NOTIFICATIONS_SMS_FAILOVER_PROBE_ATTEMPTS = 5


def attempts(provider: str, count: int, *, outcome: str = AttemptOutcome.ACCEPTED, ms: int = 50) -> None:
    """``count`` SMS attempts of ``provider`` just now, as the sender logs them."""
    now = timezone.now()
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(
            channel="Sms",
            notification_id=SmsNotificationFactory.build().id,
            attempt=1,
            provider=provider,
            outcome=outcome,
            status="Accepted" if outcome == AttemptOutcome.ACCEPTED else "New",
            started_at=now,
            duration_ms=ms,
        )
        for _ in range(count)
    )


def set_state(name: str, state: str, *, changed_at=None) -> None:
    ProviderHealth.objects.update_or_create(
        key=health_key(name), defaults={"state": state, "changed_at": changed_at or timezone.now()}
    )


def choices(n: int = 600, seed: int = 1) -> Counter[tuple[str, int]]:
    rng = random.Random(seed)
    picked: Counter[tuple[str, int]] = Counter()
    for _ in range(n):
        choice = sms_provider_choose(rng=rng)
        picked[(choice.name, choice.limit) if choice else ("none", 0)] += 1
    return picked


# --- the choice ---------------------------------------------------------------------------------------


def test_the_single_provider_setting_keeps_working_and_is_never_judged(settings):
    settings.NOTIFICATIONS_SMS_PROVIDERS = []
    settings.NOTIFICATIONS_SMS_PROVIDER = "sandbox"
    assert sms_providers() == [("sandbox", 1)]
    choice = sms_provider_choose()
    assert choice is not None
    assert (choice.name, choice.limit) == ("sandbox", settings.NOTIFICATIONS_SEND_BATCH_SIZE)
    attempts("sandbox", 50, outcome=AttemptOutcome.TRANSIENT)
    assert sms_providers_health_evaluate() == []


def test_batches_are_shared_by_weight(two_providers):
    picked = choices(800)
    share = picked[("smpp", 100)] / 800
    assert 0.70 <= share <= 0.80
    assert picked[("smpp", 100)] + picked[("twilio", 100)] == 800


def test_a_paused_provider_gets_no_batches_and_with_all_paused_nothing_is_sent(two_providers):
    ProviderPause.objects.create(key="Sms:smpp", paused_until=timezone.now() + timedelta(minutes=1))
    assert set(choices(100)) == {("twilio", 100)}
    ProviderPause.objects.create(key="Sms:twilio", paused_until=timezone.now() + timedelta(minutes=1))
    assert sms_provider_choose() is None


def test_a_down_provider_gets_no_share_and_with_all_down_all_share_by_weight(two_providers):
    set_state("smpp", ProviderState.DOWN)
    assert set(choices(100)) == {("twilio", 100)}
    set_state("twilio", ProviderState.DOWN)
    picked = choices(600)
    assert 0.68 <= picked[("smpp", 100)] / 600 <= 0.82


def test_a_standby_provider_of_weight_zero_is_used_only_when_the_others_are_down(two_providers, settings):
    settings.NOTIFICATIONS_SMS_PROVIDERS = [("smpp", 1), ("twilio", 0)]
    assert set(choices(100)) == {("smpp", 100)}
    set_state("smpp", ProviderState.DOWN)
    assert set(choices(50)) == {("twilio", 100)}


def test_a_probing_provider_gets_small_batches_at_the_probe_share(two_providers):
    set_state("twilio", ProviderState.PROBING)
    picked = choices(800)
    assert set(picked) == {("smpp", 100), ("twilio", 5)}
    assert 0.06 <= picked[("twilio", 5)] / 800 <= 0.14


# --- the judgement ------------------------------------------------------------------------------------


def test_a_provider_whose_errors_cross_the_threshold_loses_its_share_with_an_event_and_a_log_line(
    two_providers, caplog
):
    attempts("twilio", 6)
    attempts("twilio", 6, outcome=AttemptOutcome.TRANSIENT)
    attempts("smpp", 30)

    with caplog.at_level(logging.INFO, logger="dispatch.services.failover"):
        [event] = sms_providers_health_evaluate()

    assert (event.key, event.from_state, event.to_state) == ("Sms:twilio", "healthy", "down")
    assert (event.attempts, event.errors, event.reason) == (12, 6, "6 of 12 attempts failed")
    assert ProviderHealth.objects.get(key="Sms:twilio").state == ProviderState.DOWN
    assert ProviderHealth.objects.get(key="Sms:smpp").state == ProviderState.HEALTHY
    assert "SMS provider Sms:twilio: healthy -> down (6 of 12 attempts failed)" in caplog.text
    # Judged again at once: nothing changes, nothing more is logged.
    assert sms_providers_health_evaluate() == []


def test_a_slow_provider_loses_its_share(two_providers):
    attempts("smpp", 20, ms=3000)
    [event] = sms_providers_health_evaluate()
    assert (event.key, event.to_state, event.latency_ms) == ("Sms:smpp", "down", 3000)
    assert "3000 ms" in event.reason


def test_too_few_attempts_and_refusals_of_single_messages_are_not_held_against_a_provider(two_providers):
    attempts("twilio", 9, outcome=AttemptOutcome.TRANSIENT)  # under MIN_ATTEMPTS
    attempts("smpp", 40, outcome=AttemptOutcome.PERMANENT)  # invalid numbers: the messages' fault
    assert sms_providers_health_evaluate() == []


def test_a_down_provider_is_probed_after_the_cooldown_and_a_good_probe_restores_its_share(two_providers):
    set_state("twilio", ProviderState.DOWN, changed_at=timezone.now() - timedelta(seconds=30))
    assert sms_providers_health_evaluate() == []  # still cooling down

    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        [probing] = sms_providers_health_evaluate()
        assert (probing.from_state, probing.to_state) == ("down", "probing")
        attempts("twilio", 4)
        assert sms_providers_health_evaluate() == []  # not enough probe attempts yet
        attempts("twilio", 1)
        [recovered] = sms_providers_health_evaluate()
    assert (recovered.from_state, recovered.to_state) == ("probing", "healthy")
    assert recovered.reason.startswith("recovered")


def test_a_failing_probe_takes_the_provider_down_again(two_providers):
    set_state("twilio", ProviderState.PROBING)
    attempts("twilio", 5, outcome=AttemptOutcome.UNAVAILABLE)
    [event] = sms_providers_health_evaluate()
    assert (event.from_state, event.to_state) == ("probing", "down")
    assert event.reason.startswith("probe failed: 5 of 5 attempts failed")


# --- end to end with two local fakes ------------------------------------------------------------------


@pytest.fixture
def fakes(settings, two_providers):
    smsc = SmppFake(system_id="notify", password="secret").start()
    twilio = TwilioFake().start()
    settings.NOTIFICATIONS_SMS_PROVIDERS = [("smpp", 1), ("twilio", 1)]
    settings.NOTIFICATIONS_SEND_BATCH_SIZE = 10
    settings.NOTIFICATIONS_SMPP_HOST = "127.0.0.1"
    settings.NOTIFICATIONS_SMPP_PORT = smsc.port
    settings.NOTIFICATIONS_SMPP_SYSTEM_ID = "notify"
    settings.NOTIFICATIONS_SMPP_PASSWORD = "secret"
    settings.NOTIFICATIONS_SMPP_BIND = "transmitter"
    settings.NOTIFICATIONS_SMPP_TIMEOUT_SECONDS = 2
    settings.NOTIFICATIONS_TWILIO_ACCOUNT_SID = twilio.account_sid
    settings.NOTIFICATIONS_TWILIO_AUTH_TOKEN = twilio.auth_token
    settings.NOTIFICATIONS_TWILIO_API_BASE = twilio.url
    settings.NOTIFICATIONS_TWILIO_MESSAGING_SERVICE_SID = ""
    settings.NOTIFICATIONS_TWILIO_CALLBACK_BASE_URI = "https://notify.example.com"
    settings.NOTIFICATIONS_TWILIO_TIMEOUT_SECONDS = 5
    yield smsc, twilio
    smsc.stop()
    twilio.stop()


def sms_batch(count: int, first: int) -> list[SmsNotification]:
    order = OrderFactory(status=OrderStatus.PROCESSED)
    return [
        SmsNotificationFactory(order=order, recipient_position=n, mobile_number=f"+479990{first + n:04d}")
        for n in range(count)
    ]


def test_when_one_of_two_providers_fails_its_share_goes_to_the_other_until_a_probe_finds_it_well(fakes):
    smsc, twilio = fakes
    random.seed(20)
    notifications = sms_batch(100, first=0)
    for notification in notifications:
        twilio.rules[notification.mobile_number] = "error"  # every Twilio send is a 500

    notifications_send(channel="Sms")
    failed_over_twilio = twilio.requests
    assert failed_over_twilio >= 10
    assert len(smsc.submits) + failed_over_twilio == 100

    [down] = sms_providers_health_evaluate()
    assert (down.key, down.to_state, down.errors) == ("Sms:twilio", "down", failed_over_twilio)

    # The failed ones come back after their backoff; all of them now go over SMPP.
    with time_machine.travel(timezone.now() + timedelta(seconds=40)):
        notifications_send(channel="Sms")
    assert twilio.requests == failed_over_twilio
    assert SmsNotification.objects.filter(status=SmsStatus.ACCEPTED, provider="smpp").count() == 100

    # Twilio recovers; after the cooldown it is probed with small batches and gets its share back.
    twilio.rules.clear()
    with time_machine.travel(timezone.now() + timedelta(seconds=120)):
        [probing] = sms_providers_health_evaluate()
        assert probing.to_state == "probing"
        sms_batch(200, first=100)
        notifications_send(channel="Sms")
        probed = twilio.requests - failed_over_twilio
        assert 5 <= probed < 100
        [recovered] = sms_providers_health_evaluate()
    assert (recovered.from_state, recovered.to_state) == ("probing", "healthy")
    assert list(ProviderHealthEvent.objects.order_by("id").values_list("to_state", flat=True)) == [
        "down",
        "probing",
        "healthy",
    ]
