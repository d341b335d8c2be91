"""The next batch is claimed while the current one is sent, and a batch claimed ahead is never lost.

Orders, not times: the SMSC looks at the database when it receives a given ``submit_sm`` of the first
batch (on its own connection, before it answers). By then the sender has handed over two record chunks
of that batch, and the recording thread takes the claim made ahead before the batch's first chunk; so the
second batch must be claimed while most of the first one is not yet recorded.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dispatch.models import DeliveryAttempt, ProviderPause
from dispatch.services.sending import notifications_release_stuck, notifications_send
from dispatch.services.sending.send import _ChannelRun
from fakes.smpp import SmppFake
from orders.models import EmailNotification, OrderStatus, SmsNotification
from tests.dispatch.sending_support import email_notification, fresh_providers, sms_notification, use_smsc
from tests.factories import OrderFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_providers")]
__all__ = ["fresh_providers"]

BATCH = 200
WINDOW = 10
# Handed over only after the sender consumed 150 - WINDOW outcomes: two record chunks (100) submitted.
LOOK_AT = 150


class _Smsc(SmppFake):
    """Notes the notifications in Sending, per claim, when it receives the LOOK_AT-th submit_sm."""

    seen: list[dict[Any, int]]
    throttle_from: int | None
    create_email_at: int | None
    emails: list[EmailNotification]

    def _submit(self, session: Any, pdu: Any) -> None:
        if len(self.submits) == self.create_email_at:
            try:
                self.emails.append(email_notification(to_address="immediate@domain.com"))
            finally:
                connection.close()
        if len(self.submits) == LOOK_AT - 1:
            try:
                self.seen.append(_sending_per_claim())
            finally:
                connection.close()  # this thread's own connection
        if self.throttle_from is not None and len(self.submits) >= self.throttle_from:
            self._reply(session, pdu, "submit_sm_resp", status=0x58)  # ESME_RTHROTTLED
            return
        super()._submit(session, pdu)


def _sending_per_claim() -> dict[Any, int]:
    rows = SmsNotification.objects.filter(status="Sending").values("claim_id").annotate(n=Count("id"))
    return {row["claim_id"]: row["n"] for row in rows}


@pytest.fixture
def smsc(settings):
    fake = _Smsc(system_id="notify", password="secret", auto_receipt=None)
    fake.seen = []
    fake.throttle_from = None
    fake.create_email_at = None
    fake.emails = []
    fake.start()
    use_smsc(settings, fake.port)
    settings.NOTIFICATIONS_SMPP_WINDOW = WINDOW
    settings.NOTIFICATIONS_SEND_BATCH_SIZE = BATCH
    settings.NOTIFICATIONS_EMAIL_PROVIDER = "sandbox"
    yield fake
    fake.stop()


def _due(count: int) -> list[SmsNotification]:
    order = OrderFactory(status=OrderStatus.PROCESSED)
    return [sms_notification(order=order, mobile_number=f"+47990{n:05d}") for n in range(count)]


def test_the_next_batch_is_claimed_before_the_current_ones_outcomes_are_recorded(smsc):
    rows = _due(2 * BATCH + 30)

    summary = notifications_send(channel="Sms")

    [seen] = smsc.seen
    # Two claims held at once: the rest of the first batch (its last outcomes not yet recorded) and the
    # whole second batch, claimed ahead.
    assert len(seen) == 2
    first, second = sorted(seen.values())
    assert second == BATCH
    # The first chunk is recorded (the second waited for it), the fifth not even handed over yet.
    assert BATCH - 2 * 50 <= first <= BATCH - 50
    # The same outcome as batch by batch: every row accepted once, on its first attempt, nothing given back.
    assert (summary.claimed, summary.accepted, summary.released) == (len(rows), len(rows), 0)
    assert set(SmsNotification.objects.values_list("status", flat=True)) == {"Accepted"}
    assert set(DeliveryAttempt.objects.values_list("attempt", flat=True)) == {1}
    assert DeliveryAttempt.objects.count() == len(rows)
    sent = [submit.destination_addr for submit in smsc.submits]
    assert len(sent) == len(set(sent)) == len(rows)
    # Sent in the order claimed: oldest first, across batches.
    assert sent == [row.mobile_number.lstrip("+") for row in rows]


def test_a_throttled_batch_gives_the_batch_claimed_ahead_back_unattempted(smsc):
    smsc.throttle_from = LOOK_AT + 20  # after the next batch was claimed ahead
    rows = _due(2 * BATCH)

    summary = notifications_send(channel="Sms")

    assert ProviderPause.objects.filter(key="Sms:smpp").exists()
    second = SmsNotification.objects.filter(id__in=[row.id for row in rows[BATCH:]])
    # Claimed ahead, never handed over: back to New at once, no attempt spent or written.
    assert {(row.status, row.attempts, row.claim_id) for row in second} == {("New", 0, None)}
    assert not DeliveryAttempt.objects.filter(notification_id__in=[row.id for row in rows[BATCH:]]).exists()
    assert summary.released >= BATCH
    assert not SmsNotification.objects.filter(status="Sending").exists()
    sent = {submit.destination_addr for submit in smsc.submits}
    assert not sent & {row.mobile_number.lstrip("+") for row in rows[BATCH:]}


def test_a_run_that_ends_with_a_batch_claimed_ahead_gives_it_back(smsc):
    rows = _due(2 * BATCH)
    run = _ChannelRun("Sms")

    assert run.step() is True  # the first batch sent, the second claimed ahead
    run.close()  # the run ends here (its deadline, a stop request, an error)

    second = SmsNotification.objects.filter(id__in=[row.id for row in rows[BATCH:]])
    assert {(row.status, row.attempts) for row in second} == {("New", 0)}
    assert len(smsc.submits) == BATCH
    assert run.summary.released == BATCH


def test_a_worker_killed_between_the_claim_ahead_and_its_send_leaves_the_rows_to_the_lease(smsc, settings):
    """A SIGKILL runs no cleanup: modelled by a run that never closes (its give-back is never reached)."""
    settings.NOTIFICATIONS_SEND_LEASE_SECONDS = 60
    rows = _due(2 * BATCH)
    run = _ChannelRun("Sms")

    assert run.step() is True
    assert run._ahead is not None
    [ahead_claim] = {item.claim_id for item in run._ahead.take()}
    # The worker stops here for good: nothing more is sent, nothing is given back.
    second = SmsNotification.objects.filter(id__in=[row.id for row in rows[BATCH:]])
    assert {(row.status, row.claim_id, row.attempts) for row in second} == {("Sending", ahead_claim, 1)}

    # Before the lease ends, the release sweep leaves them; after it, they are due again.
    assert notifications_release_stuck(now=timezone.now() + timedelta(seconds=30)) == 0
    assert notifications_release_stuck(now=timezone.now() + timedelta(seconds=61)) == BATCH
    assert set(second.values_list("status", flat=True)) == {"New"}

    summary = notifications_send(channel="Sms")  # another worker

    assert summary.accepted == BATCH
    assert set(second.values_list("status", flat=True)) == {"Accepted"}
    sent = [submit.destination_addr for submit in smsc.submits]
    assert len(sent) == len(set(sent)) == 2 * BATCH  # none of them had gone out: nothing sent twice


def test_during_an_sms_backlog_the_sender_asks_nothing_of_the_idle_email_channel_itself(smsc):
    """The due question and the next claims go to the recording thread: the sender's own connection
    claims email only in the first round and before the run ends, however many SMS batches there are."""
    _due(4 * BATCH)
    email_table = EmailNotification._meta.db_table

    with CaptureQueriesContext(connection) as queries:
        summary = notifications_send()

    assert summary.accepted == 4 * BATCH
    email_claims = [q["sql"] for q in queries.captured_queries if f"UPDATE {email_table}" in q["sql"]]
    assert len(email_claims) == 2
    sms_table = SmsNotification._meta.db_table
    sms_claims = [q["sql"] for q in queries.captured_queries if f"UPDATE {sms_table} AS n" in q["sql"]]
    # Only the first batch's claim (and the last, empty one) is made by the sender itself.
    assert len(sms_claims) == 2
    assert not [q for q in queries.captured_queries if "LIMIT 1" in q["sql"] and email_table in q["sql"]]


def test_an_email_due_during_an_sms_backlog_is_still_sent_by_the_same_run(smsc):
    _due(3 * BATCH)
    smsc.create_email_at = 2 * BATCH + 5  # during the third batch, well after the email had nothing due

    summary = notifications_send()

    [email] = smsc.emails
    email.refresh_from_db()
    assert email.status == "Succeeded"
    assert summary.accepted == 3 * BATCH + 1
