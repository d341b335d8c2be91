"""Provider down, throttling, slow and flaky: sends are paused and retried, nothing is lost, orders end.

The pipeline runs in this process against a local SMTP server, on a frozen clock that jumps from one
event to the next (a pause or a backoff ending, an expiry), so two days of retries take a few seconds.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings

from dispatch.models import AttemptOutcome, DeliveryAttempt, ProviderPause
from orders.models import (
    EMAIL_PENDING_STATUSES,
    EmailNotification,
    EmailStatus,
    Order,
    OrderStatus,
    Recipient,
)
from tests.dispatch.sending_support import fresh_providers
from tests.factories import OrderFactory
from tests.faults.inprocess import next_event, pipeline_tick

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_providers")]
__all__ = ["fresh_providers"]

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
MESSAGE_ID = re.compile(rb"^Message-ID: <([0-9a-f-]{36})@", re.MULTILINE | re.IGNORECASE)


def email_order(addresses: list[str]) -> Order:
    order: Order = OrderFactory.create(email=True, requested_send_time=START)
    Recipient.objects.bulk_create(
        Recipient(order=order, position=position, email_address=address)
        for position, address in enumerate(addresses)
    )
    return order


def outcomes() -> Counter[str]:
    return Counter(DeliveryAttempt.objects.values_list("outcome", flat=True))


def run_until_final(time_machine, order: Order, *, max_ticks: int = 200) -> int:
    """Tick at every event until the order is final; returns the ticks it took."""
    for tick in range(1, max_ticks + 1):
        pipeline_tick()
        order.refresh_from_db()
        if order.status == OrderStatus.COMPLETED:
            return tick
        moment = next_event(datetime.now(UTC))
        assert moment is not None, "nothing left to happen, yet the order is not complete"
        time_machine.move_to(moment, tick=False)
    raise AssertionError(f"order still {order.status} after {max_ticks} ticks")


def test_a_provider_that_is_down_then_throttles_then_is_slow_and_flaky_loses_nothing(time_machine, provider):
    time_machine.move_to(START, tick=False)
    plan = {f"ok{n}@example.no": "" for n in range(20)}
    plan |= {"slow1@example.no": "slow-once", "slow2@example.no": "slow-once", "cut@example.no": "drop-once"}
    plan |= {"busy1@example.no": "defer", "busy2@example.no": "defer", "gone@example.no": "refuse"}
    order = email_order(list(plan))

    # 1. Down: the batch goes back untouched, the provider is paused, and stays so until the pause ends.
    pipeline_tick()
    rows = EmailNotification.objects.filter(order=order)
    assert set(rows.values_list("status", "attempts")) == {("New", 0)}
    pause = ProviderPause.objects.get(key="Email:smtp").paused_until
    assert pause == START + timedelta(seconds=15)
    assert outcomes() == {AttemptOutcome.UNAVAILABLE: 1}
    time_machine.move_to(pause - timedelta(seconds=1), tick=False)
    pipeline_tick()
    assert outcomes() == {AttemptOutcome.UNAVAILABLE: 1}  # nothing tried during the pause

    # 2. Up, but throttling everything: the first message is refused with 421, the rest wait unsent.
    provider.rules = {address: "throttle" for address in plan}
    provider.start()
    time_machine.move_to(pause, tick=False)
    pipeline_tick()
    assert set(rows.values_list("status", "attempts")) == {("New", 0)}  # no budget spent
    assert outcomes()[AttemptOutcome.THROTTLED] == 1
    assert ProviderPause.objects.get(key="Email:smtp").paused_until == pause + timedelta(seconds=60)
    assert provider.received == []

    # 3. Throttling over; slow, cut-off, deferring and refusing recipients from here on.
    provider.rules = {address: rule for address, rule in plan.items() if rule}
    ticks = run_until_final(time_machine, order)

    order.refresh_from_db()
    assert order.status_changed_at < START + timedelta(hours=48)  # long before the expiry
    final = {
        address: (status, attempts)
        for address, status, attempts in rows.values_list("to_address", "status", "attempts")
    }
    assert not {status for status, _ in final.values()} & EMAIL_PENDING_STATUSES
    for address, rule in plan.items():
        status, attempts = final[address]
        if rule == "defer":
            # Retried with backoff until the budget was spent: neither the outage nor the throttling
            # counted against it.
            assert (status, attempts) == (EmailStatus.FAILED, settings.NOTIFICATIONS_SEND_MAX_ATTEMPTS)
        elif rule == "refuse":
            assert (status, attempts) == (EmailStatus.FAILED_BOUNCED, 1)
        elif rule:
            assert (status, attempts) == (EmailStatus.DELIVERED, 2), address  # one timeout or cut, one retry
        else:
            assert (status, attempts) == (EmailStatus.DELIVERED, 1), address
    assert set(outcomes()) == {
        AttemptOutcome.UNAVAILABLE,
        AttemptOutcome.THROTTLED,
        AttemptOutcome.TRANSIENT,
        AttemptOutcome.PERMANENT,
        AttemptOutcome.ACCEPTED,
    }

    # Nothing lost: the server has every delivered message, under the notification's id. A copy twice
    # could only come from a send given up on while the server was still taking it (this server drops a
    # message whose client has gone, so there are none here).
    ids = dict(rows.values_list("id", "to_address"))
    received: Counter[str] = Counter()
    for message in provider.received:
        match = MESSAGE_ID.search(message.data)
        assert match is not None
        notification_id = uuid.UUID(match.group(1).decode())
        assert message.rcpt_tos == [ids[notification_id]]
        received[ids[notification_id]] += 1
    delivered = {address for address, (status, _) in final.items() if status == EmailStatus.DELIVERED}
    assert set(received) == delivered
    assert {address for address, count in received.items() if count > 1} <= {
        "slow1@example.no",
        "slow2@example.no",
    }
    assert ticks < 60  # event to event: a handful of backoffs, not a tick per second


def test_a_provider_down_until_the_expiry_ends_every_notification_failed_ttl_and_completes_the_order(
    time_machine, provider
):
    time_machine.move_to(START, tick=False)
    order = email_order([f"r{n}@example.no" for n in range(5)])
    expiry = START + timedelta(hours=48)
    # The provider never answers; the workers keep trying every few hours of the two days.
    for hours in range(0, 48, 6):
        time_machine.move_to(START + timedelta(hours=hours), tick=False)
        pipeline_tick()
    rows = EmailNotification.objects.filter(order=order)
    assert set(rows.values_list("status", "attempts")) == {("New", 0)}

    time_machine.move_to(expiry + settings.NOTIFICATIONS_EXPIRY_GRACE + timedelta(seconds=1), tick=False)
    pipeline_tick()

    assert set(rows.values_list("status", "attempts")) == {(EmailStatus.FAILED_TTL, 0)}
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    # Back after the expiry: nothing is sent any more.
    provider.start()
    time_machine.shift(timedelta(minutes=5))
    pipeline_tick()
    assert provider.received == []
