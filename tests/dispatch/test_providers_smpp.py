"""SMS over SMPP 3.4 to a local SMSC: PDUs received, encodings, parts, receipts and each failure class."""

from __future__ import annotations

import select
import threading
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from dispatch.models import AttemptOutcome, DeliveryAttempt, DeliveryReport, ProviderPause, ReportState
from dispatch.providers.smpp.codec import encode_sms
from dispatch.providers.smpp.link import SmppConfig
from dispatch.providers.smpp.receiver import SmppReceiver
from dispatch.services.reports import delivery_reports_retry
from dispatch.services.sending import notifications_send
from fakes.smpp import SmppFake
from orders.models import OrderStatus
from tests.dispatch.sending_support import fresh_providers, sms_notification, use_smsc
from tests.factories import OrderFactory, SmsTemplateFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_providers")]
__all__ = ["fresh_providers"]


@pytest.fixture
def smsc(settings):
    fake = SmppFake(system_id="notify", password="secret").start()
    use_smsc(settings, fake.port)
    settings.NOTIFICATIONS_SMPP_ENQUIRE_LINK_SECONDS = 30
    yield fake
    fake.stop()


def _receive(fake: SmppFake, count: int) -> SmppReceiver:
    """Run the receipt listener in this thread until it has applied ``count`` receipts."""
    config = SmppConfig(host="127.0.0.1", port=fake.port, system_id="notify", password="secret", timeout=2)
    receiver = SmppReceiver(config, min_backoff=0.01)
    stop = threading.Event()
    timer = threading.Timer(10, stop.set)  # a safety net: the listener never hangs a test run
    timer.start()
    try:
        receiver.serve(stop=stop, should_stop=lambda: receiver.handled >= count)
    finally:
        timer.cancel()
    return receiver


def _sms(body: str = "Hei fra Altinn", sender: str = "Altinn", number: str = "+4799999999"):
    order = OrderFactory(
        sms_template=SmsTemplateFactory(sender_number=sender, body=body), status=OrderStatus.PROCESSED
    )
    return sms_notification(order=order, mobile_number=number)


def test_a_short_sms_is_one_gsm7_submit_sm_with_an_alphanumeric_sender_and_a_receipt_request(smsc):
    notification = _sms()
    notifications_send(channel="Sms")

    [submit] = smsc.submits
    assert (submit.source_addr, submit.source_addr_ton) == ("Altinn", 5)
    assert (submit.destination_addr, submit.dest_addr_ton) == ("4799999999", 1)
    assert (submit.data_coding, submit.esm_class, submit.registered_delivery) == (0, 0, 1)
    assert submit.text == "Hei fra Altinn"
    notification.refresh_from_db()
    assert notification.status == "Accepted"
    assert notification.provider == "smpp"
    assert notification.provider_reference == submit.message_id


@pytest.mark.parametrize(
    ("sender", "ton", "address"),
    [("+4712345678", 1, "4712345678"), ("004712345678", 1, "4712345678"), ("2222", 3, "2222")],
)
def test_a_numeric_sender_is_sent_with_its_type_of_number(smsc, sender, ton, address):
    _sms(sender=sender)
    notifications_send(channel="Sms")
    assert (smsc.submits[0].source_addr, smsc.submits[0].source_addr_ton) == (address, ton)


def test_a_number_written_with_00_and_spaces_is_sent_as_international_digits(smsc):
    _sms(number="0047 999 99 999")
    notifications_send(channel="Sms")
    assert smsc.submits[0].destination_addr == "4799999999"


def test_a_long_sms_is_split_into_concatenated_parts_with_one_receipt_request(smsc):
    body = "Dette er en lang melding. " * 10  # 260 GSM-7 characters: two parts
    notification = _sms(body=body)
    notifications_send(channel="Sms")

    first, second = smsc.submits
    assert first.esm_class == second.esm_class == 0x40
    assert first.udh[:3] == second.udh[:3] == bytes([0x05, 0x00, 0x03])
    assert first.udh[3] == second.udh[3]  # one concatenation reference
    assert (first.udh[4:], second.udh[4:]) == (bytes([2, 1]), bytes([2, 2]))
    assert (first.registered_delivery, second.registered_delivery) == (0, 1)
    assert first.text + second.text == body
    assert len(first.short_message) - len(first.udh) == 153
    notification.refresh_from_db()
    assert notification.provider_reference == second.message_id


def test_text_outside_gsm7_is_sent_as_ucs2(smsc):
    _sms(body="Hei 😀 – æøå")
    notifications_send(channel="Sms")
    [submit] = smsc.submits
    assert submit.data_coding == 8
    assert submit.short_message == "Hei 😀 – æøå".encode("utf-16-be")
    assert submit.text == "Hei 😀 – æøå"


def test_gsm7_extension_characters_are_escaped_and_never_split_across_parts():
    encoded = encode_sms("a" * 152 + "€" + "b" * 10, reference=7)
    assert encoded.data_coding == 0
    first, second = encoded.parts
    assert first[6:] == b"a" * 152  # the escape pair did not fit: it starts the next part whole
    assert second[6:8] == bytes([0x1B, 0x65])
    assert encode_sms("[x]").parts == (bytes([0x1B, 0x3C, ord("x"), 0x1B, 0x3E]),)


def test_a_delivery_receipt_from_the_receiver_bind_marks_the_sms_delivered(smsc):
    notification = _sms()
    notifications_send(channel="Sms")
    receiver = _receive(smsc, 1)

    assert receiver.handled == 1
    notification.refresh_from_db()
    assert notification.status == "Delivered"
    report = DeliveryReport.objects.get()
    assert (report.provider, report.reference, report.provider_status, report.state) == (
        "smpp",
        smsc.submits[0].message_id,
        "DELIVRD",
        ReportState.APPLIED,
    )
    assert set(smsc.receipt_statuses.values()) == {0}  # every deliver_sm acknowledged OK
    assert "bind_receiver" in smsc.binds


@pytest.mark.parametrize(
    ("stat", "status"),
    [
        ("UNDELIV", "Failed_Undelivered"),
        ("EXPIRED", "Failed_Expired"),
        ("DELETED", "Failed_Deleted"),
        ("REJECTD", "Failed_Rejected"),
        ("BARRED", "Failed_BarredReceiver"),
        ("UNKNOWN", "Failed"),
    ],
)
def test_receipt_statuses_are_mapped_as_the_reference_does(smsc, stat, status):
    notification = _sms(number="+4799000777")
    smsc.rules["4799000777"] = stat
    notifications_send(channel="Sms")
    _receive(smsc, 1)
    notification.refresh_from_db()
    assert notification.status == status


def test_an_invalid_destination_is_a_permanent_failure(smsc):
    notification = _sms(number="+4790000001")
    smsc.rules["4790000001"] = "reject"
    notifications_send(channel="Sms")
    notification.refresh_from_db()
    assert notification.status == "Failed_InvalidRecipient"
    attempt = DeliveryAttempt.objects.get(notification_id=notification.id)
    assert "0x0000000B" in attempt.raw_response


def test_a_system_error_is_retried_with_backoff(smsc):
    notification = _sms(number="+4790000002")
    smsc.rules["4790000002"] = "syserr-once"
    notifications_send(channel="Sms")
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("New", 1)
    with time_machine.travel(notification.not_before + timedelta(seconds=1), tick=False):
        notifications_send(channel="Sms")
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("Accepted", 2)


def test_smsc_throttling_pauses_sending_without_spending_budgets(smsc):
    throttled = _sms(number="+4790000003")
    rest = [_sms(number=f"+479000001{n}") for n in range(3)]
    smsc.rules["4790000003"] = "throttle-once"

    summary = notifications_send(channel="Sms")

    assert summary.paused_until is not None
    throttled.refresh_from_db()
    assert (throttled.status, throttled.attempts) == ("New", 0)
    assert ProviderPause.objects.filter(key="Sms:smpp").exists()
    assert notifications_send(channel="Sms").claimed == 0  # paused
    with time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False):
        notifications_send(channel="Sms")
    for notification in [throttled, *rest]:
        notification.refresh_from_db()
        assert notification.status == "Accepted"
    assert sorted(submit.destination_addr for submit in smsc.submits)[0] == "4790000003"


def test_a_dropped_link_fails_what_was_in_flight_transiently_and_releases_the_rest(smsc, settings):
    settings.NOTIFICATIONS_SMPP_WINDOW = 1
    dropped = _sms(number="+4790000004")
    waiting = _sms(number="+4790000005")
    smsc.rules["4790000004"] = "drop"

    notifications_send(channel="Sms")

    dropped.refresh_from_db()
    waiting.refresh_from_db()
    assert (dropped.status, dropped.attempts) == ("New", 1)
    assert (waiting.status, waiting.attempts) == ("New", 0)
    outcomes = dict(DeliveryAttempt.objects.values_list("notification_id", "outcome"))
    # The one in flight may have been taken: charged. The next never left: one row says why.
    assert outcomes == {dropped.id: AttemptOutcome.TRANSIENT, waiting.id: AttemptOutcome.UNAVAILABLE}


def test_a_wrong_password_is_an_outage_not_a_failure(smsc, settings):
    settings.NOTIFICATIONS_SMPP_PASSWORD = "wrong"
    notification = _sms()
    notifications_send(channel="Sms")
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("New", 0)
    assert "bind failed" in notification.last_error
    assert smsc.submits == []


def test_one_bind_is_reused_across_batches_and_probed_with_enquire_link_when_idle(smsc, settings):
    _sms(number="+4790000006")
    notifications_send(channel="Sms")
    settings.NOTIFICATIONS_SMPP_ENQUIRE_LINK_SECONDS = 0  # every reuse counts as idle
    from dispatch.providers import reset_providers, sms_provider

    reset_providers()
    provider = sms_provider()
    _sms(number="+4790000007")
    notifications_send(channel="Sms")
    _sms(number="+4790000008")
    notifications_send(channel="Sms")
    assert provider.link.bound
    assert smsc.binds == ["bind_transmitter", "bind_transmitter"]  # one per provider instance
    assert smsc.enquire_links >= 1
    assert len(smsc.submits) == 3


def test_a_link_cut_by_the_smsc_between_batches_is_rebuilt_without_failing_anything(smsc):
    first = _sms(number="+4790000009")
    notifications_send(channel="Sms")
    smsc.drop_connections()
    second = _sms(number="+4790000010")
    notifications_send(channel="Sms")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("Accepted", "Accepted")
    assert second.attempts == 1
    assert smsc.binds.count("bind_transmitter") == 2


def test_a_transceiver_worker_applies_receipts_that_overtake_their_send_result(smsc, settings):
    settings.NOTIFICATIONS_SMPP_BIND = "transceiver"
    notification = _sms()
    notifications_send(channel="Sms")
    # The receipt came on the worker's own bind before the send result was recorded: kept pending.
    from dispatch.providers import sms_provider

    provider = sms_provider()
    select.select([provider.link.client._socket], [], [], 5)  # the receipt follows the submit_sm_resp
    provider.open()  # reads what arrived meanwhile
    report = DeliveryReport.objects.get()
    if report.state == ReportState.PENDING:
        with time_machine.travel(timezone.now() + timedelta(seconds=6), tick=False):
            assert delivery_reports_retry() == 1
    notification.refresh_from_db()
    assert notification.status == "Delivered"


def test_the_receiver_reconnects_after_the_link_is_cut(smsc):
    first, second = _sms(number="+4790000011"), _sms(number="+4790000012")
    smsc.auto_receipt = None
    notifications_send(channel="Sms")
    ids = [submit.message_id for submit in smsc.submits]
    smsc.send_receipt(ids[0], "DELIVRD")
    config = SmppConfig(host="127.0.0.1", port=smsc.port, system_id="notify", password="secret", timeout=2)
    receiver = SmppReceiver(config, min_backoff=0.01)
    stop = threading.Event()
    timer = threading.Timer(10, stop.set)  # a safety net: the listener never hangs a test run
    timer.start()
    try:
        receiver.serve(stop=stop, should_stop=lambda: receiver.handled >= 1)
        smsc.drop_connections()
        smsc.send_receipt(ids[1], "DELIVRD")  # queued until a receiver binds again
        receiver.serve(stop=stop, should_stop=lambda: receiver.handled >= 2)
    finally:
        timer.cancel()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("Delivered", "Delivered")
    assert smsc.binds.count("bind_receiver") == 2


def test_the_receiver_backs_off_exponentially_while_the_smsc_is_down(smsc):
    smsc.stop()
    config = SmppConfig(host="127.0.0.1", port=smsc.port, system_id="notify", password="secret", timeout=1)
    receiver = SmppReceiver(config, min_backoff=0.01, max_backoff=0.04)
    stop = threading.Event()
    timer = threading.Timer(10, stop.set)
    timer.start()
    try:
        receiver.serve(stop=stop, should_stop=lambda: len(receiver.backoffs) >= 4)
    finally:
        timer.cancel()
    assert receiver.backoffs == [0.01, 0.02, 0.04, 0.04]
