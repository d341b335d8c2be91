"""An email that falls due while a send run works through an SMS batch goes out before that batch ends.

The email is created by the SMSC itself when it takes the 20th SMS (and before it answers it), so what
is asserted is the order of the attempts, never a time: with interleaving the email's attempt comes
before the batch's later SMS; without it, after the whole batch.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from dispatch.models import DeliveryAttempt
from dispatch.services.sending import notifications_send
from dispatch.services.sending.recorder import record_pool
from fakes.smpp import SmppFake
from orders.models import EmailNotification, OrderStatus, SmsNotification
from tests.dispatch.sending_support import email_notification, fresh_providers, sms_notification, use_smsc
from tests.factories import OrderFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_providers")]
__all__ = ["fresh_providers"]

BATCH = 120
TRIGGER = 20


class _Smsc(SmppFake):
    """Creates one email notification (committed) when it receives the TRIGGER-th submit_sm."""

    emails: list[EmailNotification]

    def _submit(self, session: Any, pdu: Any) -> None:
        if len(self.submits) == TRIGGER - 1:
            try:
                self.emails.append(email_notification(to_address="immediate@domain.com"))
            finally:
                connection.close()  # this thread's own connection
        super()._submit(session, pdu)


@pytest.fixture
def smsc(settings):
    fake = _Smsc(system_id="notify", password="secret")
    fake.emails = []
    fake.start()
    use_smsc(settings, fake.port)
    settings.NOTIFICATIONS_EMAIL_PROVIDER = "sandbox"
    settings.NOTIFICATIONS_SEND_BATCH_SIZE = BATCH
    yield fake
    fake.stop()


def _sms_batch() -> list[SmsNotification]:
    order = OrderFactory(status=OrderStatus.PROCESSED)
    return [sms_notification(order=order, mobile_number=f"+47990{n:05d}") for n in range(BATCH)]


def _attempt_channels() -> list[str]:
    return list(DeliveryAttempt.objects.order_by("started_at", "id").values_list("channel", flat=True))


def test_an_email_due_during_an_sms_batch_is_sent_between_its_messages(smsc, settings):
    settings.NOTIFICATIONS_SEND_INTERLEAVE_SECONDS = 1e-6  # ask before every message
    rows = _sms_batch()

    summary = notifications_send()

    [email] = smsc.emails
    email.refresh_from_db()
    assert email.status == "Succeeded"
    assert summary.accepted == BATCH + 1
    channels = _attempt_channels()
    position = channels.index("Email")
    # Sent after the SMS that created it and well before the end of the one SMS batch.
    assert TRIGGER <= position < BATCH - 10
    assert channels.count("Sms") == BATCH
    assert set(
        SmsNotification.objects.filter(id__in=[r.id for r in rows]).values_list("status", flat=True)
    ) == {"Accepted"}
    # The SMS batch was one claim: every SMS has its first attempt, none was given back.
    assert set(DeliveryAttempt.objects.filter(channel="Sms").values_list("attempt", flat=True)) == {1}


class _BusyRecorderSmsc(_Smsc):
    """Keeps the worker's recording thread busy from the BUSY_FROM-th submit_sm to the BUSY_UNTIL-th."""

    BUSY_FROM, BUSY_UNTIL = 10, 100
    released: threading.Event

    def _submit(self, session: Any, pdu: Any) -> None:
        if len(self.submits) == self.BUSY_FROM - 1:
            record_pool().submit(self.released.wait, 30)  # what a long claim or record would do
        elif len(self.submits) == self.BUSY_UNTIL - 1:
            self.released.set()
        super()._submit(session, pdu)


def test_the_due_question_is_not_queued_behind_the_recording_thread(settings):
    """A claim ahead or a chunk's record keeps the recording thread busy for a while: the question whether
    an email is due is asked by a thread of its own, so the email goes out while the recorder is busy."""
    fake = _BusyRecorderSmsc(system_id="notify", password="secret")
    fake.emails, fake.released = [], threading.Event()
    fake.start()
    try:
        use_smsc(settings, fake.port)
        settings.NOTIFICATIONS_EMAIL_PROVIDER = "sandbox"
        settings.NOTIFICATIONS_SEND_BATCH_SIZE = BATCH
        settings.NOTIFICATIONS_SEND_INTERLEAVE_SECONDS = 1e-6
        _sms_batch()

        summary = notifications_send()
    finally:
        fake.released.set()
        fake.stop()

    assert summary.accepted == BATCH + 1
    channels = _attempt_channels()
    # Sent between the SMS handed over while the recording thread was busy, not after it was free again.
    assert TRIGGER <= channels.index("Email") < _BusyRecorderSmsc.BUSY_UNTIL - 10
    assert EmailNotification.objects.get(id=fake.emails[0].id).status == "Succeeded"


def test_without_interleaving_the_email_waits_for_the_end_of_the_batch(smsc, settings):
    settings.NOTIFICATIONS_SEND_INTERLEAVE_SECONDS = 0
    _sms_batch()

    notifications_send()

    channels = _attempt_channels()
    assert channels.index("Email") == BATCH  # after every SMS of the batch
    assert EmailNotification.objects.get(id=smsc.emails[0].id).status == "Succeeded"


def test_a_run_of_one_channel_sends_nothing_of_the_other(smsc, settings):
    settings.NOTIFICATIONS_SEND_INTERLEAVE_SECONDS = 1e-6
    _sms_batch()

    summary = notifications_send(channel="Sms")

    assert summary.accepted == BATCH
    assert EmailNotification.objects.get(id=smsc.emails[0].id).status == "New"
    assert "Email" not in _attempt_channels()


def test_a_backlog_of_both_channels_goes_in_turns_of_whole_batches(smsc, settings):
    settings.NOTIFICATIONS_SEND_INTERLEAVE_SECONDS = 1e-6
    emails = OrderFactory(email=True, status=OrderStatus.PROCESSED)
    backlog = [email_notification(order=emails) for _ in range(BATCH + 10)]
    sms = _sms_batch()

    summary = notifications_send()

    # A full email batch means a backlog: nothing of it is sent in between the SMS batch, whose 20th SMS
    # creates one more email; the rest of the emails and that one follow in the next round.
    assert summary.accepted == len(sms) + len(backlog) + 1
    assert _attempt_channels() == ["Email"] * BATCH + ["Sms"] * BATCH + ["Email"] * 11
    assert not EmailNotification.objects.filter(status__in=["New", "Sending"]).exists()
    assert not SmsNotification.objects.filter(status__in=["New", "Sending"]).exists()
