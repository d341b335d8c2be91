"""Send claims hold a short lease: a dead worker's notifications come back within about a minute, a live
worker keeps its own by renewing the lease, and a worker whose claim was taken over neither sends the rest
of its batch nor overwrites the new claim's outcome."""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.db import connection
from django.utils import timezone

from dispatch.models import AttemptOutcome, DeliveryAttempt, SandboxMessage
from dispatch.providers import email_provider, sms_provider
from dispatch.services.sending import (
    notifications_claim,
    notifications_release_stuck,
    notifications_send,
    send_claim_renew,
)
from dispatch.services.sending.send import _send_batch
from fakes.smtp import SmtpFake, _Handler
from orders.models import EmailNotification, OrderStatus, SmsNotification
from tests.dispatch.sending_support import (
    email_notification,
    fresh_providers,
    sms_notification,
    use_smtp_server,
)
from tests.factories import OrderFactory
from tests.faults.support import wait_for

pytestmark = [pytest.mark.usefixtures("fresh_providers")]
__all__ = ["fresh_providers"]

LEASE = 60.0


@pytest.fixture(autouse=True)
def _lease(settings: Any) -> None:
    settings.NOTIFICATIONS_SEND_LEASE_SECONDS = LEASE
    settings.NOTIFICATIONS_SEND_STUCK_AFTER_SECONDS = 900.0


def _sent(notification_id: Any) -> int:
    return SandboxMessage.objects.filter(notification_id=notification_id).count()


@pytest.mark.django_db
def test_a_dead_workers_claim_is_released_when_its_lease_ends_and_sent_once_by_another_worker():
    notifications = [sms_notification() for _ in range(3)]
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        # A worker claims the batch and is killed before it sends anything: it never renews the lease.
        assert len(notifications_claim(channel="Sms", pause_key="Sms:sandbox", limit=10)) == 3
    with time_machine.travel(start + timedelta(seconds=LEASE - 1), tick=False):
        assert notifications_release_stuck() == 0
    # Far below the 900 s after which a claim counts as stuck.
    with time_machine.travel(start + timedelta(seconds=LEASE + 1), tick=False):
        assert notifications_release_stuck() == 3
        assert notifications_release_stuck() == 0
        assert notifications_send(channel="Sms").accepted == 3
    for notification in notifications:
        notification.refresh_from_db()
        assert notification.status == "Accepted"
        assert notification.attempts == 2
        assert _sent(notification.id) == 1
        outcomes = list(
            DeliveryAttempt.objects.filter(notification_id=notification.id)
            .order_by("attempt")
            .values_list("outcome", flat=True)
        )
        assert outcomes == [AttemptOutcome.LOST, AttemptOutcome.ACCEPTED]


@pytest.mark.django_db
def test_a_worker_that_renews_its_lease_keeps_its_claim_until_it_stops_renewing():
    notification = sms_notification()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        [claim] = notifications_claim(channel="Sms", pause_key="Sms:sandbox", limit=10)
    with time_machine.travel(start + timedelta(seconds=40), tick=False):
        assert send_claim_renew(channel="Sms", claim_id=claim.claim_id) == {notification.id}
    with time_machine.travel(start + timedelta(seconds=LEASE + 30), tick=False):
        assert notifications_release_stuck() == 0
        notification.refresh_from_db()
        assert notification.status == "Sending"
        assert notification.claim_id == claim.claim_id
    with time_machine.travel(start + timedelta(seconds=40 + LEASE + 1), tick=False):
        assert notifications_release_stuck() == 1
        # Renewing a released claim takes nothing back: the worker learns that it lost the rows.
        assert send_claim_renew(channel="Sms", claim_id=claim.claim_id) == set()
    notification.refresh_from_db()
    assert notification.status == "New"
    assert notification.claim_id is None


@pytest.mark.django_db
def test_renewing_a_lease_is_one_statement_for_the_whole_batch(django_assert_num_queries):
    for _ in range(100):
        sms_notification()
    claimed = notifications_claim(channel="Sms", pause_key="Sms:sandbox", limit=500)
    with django_assert_num_queries(1):
        held = send_claim_renew(channel="Sms", claim_id=claimed[0].claim_id)
    assert held == {item.message.notification_id for item in claimed}


@pytest.mark.django_db
def test_a_late_result_from_a_taken_over_claim_never_overwrites_the_new_claim_or_its_outcome():
    notification = sms_notification()
    # One frozen instant: the two claims even share claimed_at, so only the claim id tells them apart.
    with time_machine.travel(timezone.now(), tick=False):
        stale = notifications_claim(channel="Sms", pause_key="Sms:sandbox", limit=10)
        assert notifications_release_stuck(now=timezone.now() + timedelta(seconds=LEASE + 1)) == 1
        fresh = notifications_claim(channel="Sms", pause_key="Sms:sandbox", limit=10)
        assert fresh[0].claim_id != stale[0].claim_id

        # The old worker was only slow: its result comes while the new claim is still sending ...
        _send_batch(provider=sms_provider(), channel="Sms", claimed=stale)
        notification.refresh_from_db()
        assert notification.status == "Sending"
        assert notification.claim_id == fresh[0].claim_id
        assert notification.attempts == 2

        # ... and again after the new claim recorded its own outcome.
        _send_batch(provider=sms_provider(), channel="Sms", claimed=fresh)
        notification.refresh_from_db()
        accepted = (notification.status, notification.provider_reference, notification.attempts)
        _send_batch(provider=sms_provider(), channel="Sms", claimed=stale)
    notification.refresh_from_db()
    assert accepted[0] == "Accepted"
    assert (notification.status, notification.provider_reference, notification.attempts) == accepted


@pytest.mark.django_db
def test_a_claim_without_a_lease_from_an_older_worker_waits_for_the_stuck_timeout():
    # Rows claimed by a worker of the previous release (no lease yet) during a rolling deploy.
    now = timezone.now()
    recent = sms_notification(status="Sending", claimed_at=now - timedelta(seconds=LEASE * 5))
    stuck = sms_notification(status="Sending", claimed_at=now - timedelta(seconds=901))
    assert notifications_release_stuck() == 1
    recent.refresh_from_db()
    stuck.refresh_from_db()
    assert (recent.status, stuck.status) == ("Sending", "New")


# --- with a worker thread on its own connection ---------------------------------------------------------


class _HoldingHandler(_Handler):
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> Any:
        fake = self.fake
        assert isinstance(fake, HoldingSmtp)
        if not fake.let_go.is_set():
            fake.holding.set()
            # The server's own slowness, on its own thread: the worker waits for the answer.
            await asyncio.get_running_loop().run_in_executor(None, fake.let_go.wait, 30)
        return await super().handle_DATA(server, session, envelope)


class HoldingSmtp(SmtpFake):
    """The local SMTP server, answering the first message's DATA only once the test lets it go."""

    def __init__(self) -> None:
        super().__init__()
        self.holding = threading.Event()
        self.let_go = threading.Event()
        self.controller = Controller(_HoldingHandler(self), hostname="127.0.0.1", port=self.port)


@pytest.fixture
def holding_smtp(settings: Any):
    fake = HoldingSmtp().start()
    use_smtp_server(settings, fake.port, timeout=30)
    yield fake
    fake.let_go.set()
    fake.stop()


def _worker_send() -> Any:
    try:
        return notifications_send(channel="Email", time_budget=30)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_a_worker_waiting_on_a_slow_provider_keeps_its_claim_by_heartbeat(settings, holding_smtp):
    settings.NOTIFICATIONS_SEND_LEASE_SECONDS = 1.5
    notification = email_notification()
    rows = EmailNotification.objects.filter(id=notification.id)
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(_worker_send)
        assert holding_smtp.holding.wait(10)
        first = rows.get().lease_until
        assert first is not None
        # The provider call blocks, yet the lease moves on: at least two renewals.
        wait_for(
            "the lease to be renewed twice",
            lambda: rows.get().lease_until >= first + timedelta(seconds=1),
            timeout=20,
        )
        assert notifications_release_stuck() == 0
        holding_smtp.let_go.set()
        summary = future.result(timeout=30)
    assert summary.accepted == 1
    assert rows.get().status == "Delivered"
    assert len(holding_smtp.received) == 1


@pytest.mark.django_db(transaction=True)
def test_a_worker_whose_claim_was_taken_over_sends_nothing_more_of_its_batch(settings, holding_smtp, caplog):
    caplog.set_level(logging.WARNING, logger="dispatch.services.sending")
    settings.NOTIFICATIONS_SEND_LEASE_SECONDS = 1.5
    order = OrderFactory(email=True, status=OrderStatus.PROCESSED)
    notifications = [email_notification(order=order) for _ in range(3)]
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(_worker_send)
        assert holding_smtp.holding.wait(10)
        # The worker looks dead to the sweep (its process stood still past the lease, say): the claim is
        # released and another worker takes the rows.
        assert notifications_release_stuck(now=timezone.now() + timedelta(seconds=10)) == 3
        taken = notifications_claim(channel="Email", pause_key=email_provider().pause_key, limit=10)
        assert len(taken) == 3
        wait_for(
            "the worker to notice the takeover",
            lambda: any("taken over" in record.getMessage() for record in caplog.records),
            timeout=20,
        )
        holding_smtp.let_go.set()
        future.result(timeout=30)
    # Only the message in flight at the takeover went out under the old claim.
    assert len(holding_smtp.received) == 1
    for notification in notifications:
        notification.refresh_from_db()
        assert notification.status == "Sending"
        assert notification.claim_id == taken[0].claim_id


@pytest.mark.django_db(transaction=True)
def test_a_released_claim_is_sent_exactly_once_when_two_workers_sweep_and_send_together():
    notifications = [sms_notification() for _ in range(20)]
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        notifications_claim(channel="Sms", pause_key="Sms:sandbox", limit=50)  # the dead worker
    barrier = threading.Barrier(2)

    def worker() -> Any:
        try:
            barrier.wait(10)
            released = notifications_release_stuck()
            return released, notifications_send(channel="Sms", time_budget=30).accepted
        finally:
            connection.close()

    with time_machine.travel(start + timedelta(seconds=LEASE + 1), tick=False):
        with ThreadPoolExecutor(2) as pool:
            results = [future.result(timeout=60) for future in [pool.submit(worker) for _ in range(2)]]
    assert sum(released for released, _ in results) == 20
    assert sum(accepted for _, accepted in results) == 20
    for notification in notifications:
        assert _sent(notification.id) == 1
    assert SmsNotification.objects.filter(status="Accepted").count() == 20
