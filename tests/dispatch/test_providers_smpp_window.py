"""The SMPP submit window against the local SMSC: answers out of order, throttling, a bind lost mid-window,
and recording in the background while the window stays full."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from dispatch.models import AttemptOutcome, DeliveryAttempt, ProviderPause
from dispatch.services.sending import notifications_send
from fakes.smpp import SmppFake
from orders.models import OrderStatus, SmsNotification
from tests.dispatch.sending_support import fresh_providers, sms_notification, use_smsc
from tests.factories import OrderFactory, SmsTemplateFactory

__all__ = ["fresh_providers"]


@pytest.fixture
def smsc(settings):
    fake = SmppFake(system_id="notify", password="secret", auto_receipt=None).start()
    use_smsc(settings, fake.port)
    yield fake
    fake.stop()


def _batch(count: int, first: int = 0) -> list[SmsNotification]:
    order = OrderFactory(sms_template=SmsTemplateFactory(body="Hei fra Altinn"), status=OrderStatus.PROCESSED)
    return [sms_notification(order=order, mobile_number=f"+47910{first + n:05d}") for n in range(count)]


def _refreshed(rows: list[SmsNotification]) -> list[SmsNotification]:
    return list(SmsNotification.objects.filter(id__in=[row.id for row in rows]).order_by("created_at", "id"))


def _digits(row: SmsNotification) -> str:
    return row.mobile_number.lstrip("+")


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_providers")
def test_answers_out_of_order_are_matched_to_their_messages_by_sequence_number(smsc, settings):
    settings.NOTIFICATIONS_SMPP_WINDOW = 4
    smsc.reverse_window = 4  # answers come only with four in flight, and last one first
    rows = _batch(8)

    summary = notifications_send(channel="Sms")

    assert summary.accepted == 8
    message_ids = {submit.destination_addr: submit.message_id for submit in smsc.submits}
    for row in _refreshed(rows):
        assert row.status == "Accepted"
        assert row.provider_reference == message_ids[_digits(row)]


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_providers")
def test_a_window_the_smsc_never_answers_times_out_as_transient_and_sends_nothing_more(smsc, settings):
    settings.NOTIFICATIONS_SMPP_WINDOW = 2
    smsc.reverse_window = 4  # never reached with two in flight: no answer comes
    rows = _batch(5)

    notifications_send(channel="Sms")

    rows = _refreshed(rows)
    assert [(row.status, row.attempts) for row in rows] == [("New", 1)] * 2 + [("New", 0)] * 3
    assert len(smsc.submits) == 2  # the SMSC took the two in flight; nothing after them was sent
    outcomes = sorted(DeliveryAttempt.objects.values_list("outcome", flat=True))
    assert outcomes == sorted([AttemptOutcome.TRANSIENT] * 2 + [AttemptOutcome.UNAVAILABLE])


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_providers")
def test_throttling_mid_window_collects_what_is_in_flight_and_releases_the_rest(smsc, settings):
    settings.NOTIFICATIONS_SMPP_WINDOW = 5
    rows = _batch(8)
    smsc.rules[_digits(rows[2])] = "throttle-once"

    summary = notifications_send(channel="Sms")

    assert summary.paused_until is not None
    assert ProviderPause.objects.filter(key="Sms:smpp").exists()
    after = _refreshed(rows)
    # What was in flight when the throttling answer came was collected and recorded; the throttled one
    # and those never written go back to New without spending an attempt. The window refills as answers
    # come, so the two before the throttled one made room for two more, and the last was never written.
    assert (after[2].status, after[2].attempts) == ("New", 0)
    assert [row.status for row in after] == ["Accepted"] * 2 + ["New"] + ["Accepted"] * 4 + ["New"]
    assert all(row.attempts == 0 for row in after if row.status == "New")
    assert {submit.destination_addr for submit in smsc.submits} == {
        _digits(row) for row in after if row.status == "Accepted"
    }
    with time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False):
        notifications_send(channel="Sms")
    assert {row.status for row in _refreshed(rows)} == {"Accepted"}
    assert len(smsc.submits) == 8  # each sent once


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_providers")
def test_a_bind_lost_mid_window_leaves_nothing_in_sending_and_nothing_sent_twice(smsc, settings):
    settings.NOTIFICATIONS_SMPP_WINDOW = 5
    rows = _batch(8)
    smsc.rules[_digits(rows[2])] = "drop"  # the SMSC cuts the bind on the third submit_sm

    notifications_send(channel="Sms")

    after = _refreshed(rows)
    assert not [row for row in after if row.status == "Sending"]
    taken = {submit.destination_addr: submit.message_id for submit in smsc.submits}
    for row in after[:5]:  # the first window: handed over, so either recorded or charged and retried
        if row.status == "Accepted":
            assert row.provider_reference == taken[_digits(row)]
        else:
            assert (row.status, row.attempts) == ("New", 1)
            assert row.not_before is not None  # backoff before the retry
    assert [(row.status, row.attempts) for row in after[2:5]] == [("New", 1)] * 3
    # The window refills as answers come: the two after it were written when the first answers were read
    # in time (charged like the rest of the window), else never; the last one never was.
    assert {(row.status, row.attempts) for row in after[5:7]} <= {("New", 0), ("New", 1)}
    assert (after[7].status, after[7].attempts) == ("New", 0)
    assert not DeliveryAttempt.objects.filter(
        notification_id__in=[row.id for row in after if row.attempts == 0], outcome=AttemptOutcome.TRANSIENT
    ).exists()

    # The retry sends what the SMSC did not take, and nothing it took (an answer lost with the bind
    # would be sent again: the at-least-once window).
    del smsc.rules[_digits(rows[2])]
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=False):
        notifications_send(channel="Sms")
    final = _refreshed(rows)
    assert {row.status for row in final} == {"Accepted"}
    accepted_first = {_digits(row) for row in after if row.status == "Accepted"}
    sent = [submit.destination_addr for submit in smsc.submits]
    assert all(sent.count(number) == 1 for number in accepted_first)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fresh_providers")
def test_a_batch_of_several_chunks_is_recorded_in_the_background_completely(smsc, settings):
    settings.NOTIFICATIONS_SMPP_WINDOW = 20
    rows = _batch(130)  # three record chunks, recorded by the recording thread (committed rows)
    smsc.rules[_digits(rows[60])] = "reject"

    summary = notifications_send(channel="Sms")

    assert (summary.accepted, summary.failed) == (129, 1)
    after = _refreshed(rows)
    assert [row.status for row in after].count("Accepted") == 129
    assert after[60].status == "Failed_InvalidRecipient"
    assert DeliveryAttempt.objects.filter(notification_id__in=[row.id for row in rows]).count() == 130
    assert not SmsNotification.objects.filter(status="Sending").exists()
