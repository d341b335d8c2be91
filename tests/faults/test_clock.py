"""Clock: a notification is never sent before its order's requested send time, nor after its expiry.

Orders due now, in a few minutes, hours and days; a provider that goes away for two days and comes back;
a retry whose backoff ends after the expiry. The pipeline runs in this process on a frozen clock that
ticks a second before and at every send time and expiry, at every backoff's end and every few hours in
between. The SMTP server notes the (test's) time of every message it takes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from notifications_project.launcher.servers import free_port
from orders.models import EmailNotification, EmailStatus, Order, OrderStatus, Recipient
from tests.dispatch.sending_support import fresh_providers
from tests.factories import OrderFactory
from tests.faults.inprocess import next_event, pipeline_tick

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_providers")]
__all__ = ["fresh_providers"]

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
OUTAGE = (T0 + timedelta(minutes=1), T0 + timedelta(hours=49))


def email_order(name: str, send_time: datetime, addresses: list[str]) -> Order:
    order: Order = OrderFactory.create(email=True, requested_send_time=send_time, senders_reference=name)
    Recipient.objects.bulk_create(
        Recipient(order=order, position=position, email_address=address)
        for position, address in enumerate(addresses)
    )
    return order


def test_nothing_is_sent_before_its_send_time_or_after_its_expiry(time_machine, provider, settings):
    settings.NOTIFICATIONS_SEND_RETRY_BASE_SECONDS = 60  # a first retry 30-60 s later
    time_machine.move_to(T0, tick=False)
    provider.start()
    live_port, dead_port = provider.port, free_port()  # nothing listens on the second
    orders = {
        # Due at once, expiring 20 s from now: one goes out, the other's retry comes after its expiry.
        "last-minute": email_order(
            "last-minute", T0 - timedelta(hours=48) + timedelta(seconds=20), ["a@x.no", "late@x.no"]
        ),
        # Due during the outage, expiring during it: never sent.
        "in-outage": email_order("in-outage", T0 + timedelta(minutes=10), ["b@x.no", "c@x.no"]),
        # Due during the outage, expiring an hour after it ends: sent then.
        "after-outage": email_order("after-outage", T0 + timedelta(hours=2), ["d@x.no"]),
        # Due in three days: not a moment earlier.
        "later": email_order("later", T0 + timedelta(days=3), ["e@x.no", "f@x.no"]),
    }
    provider.rules["late@x.no"] = "defer-once"

    moments = {*OUTAGE, T0 + timedelta(days=4)}
    moments |= {T0 + timedelta(hours=hours) for hours in range(0, 96, 6)}
    for order in orders.values():
        moments |= {order.requested_send_time - timedelta(seconds=1), order.requested_send_time}
    ticks = 0
    while True:
        now = datetime.now(UTC)
        down = OUTAGE[0] <= now < OUTAGE[1]
        if settings.EMAIL_PORT != (port := dead_port if down else live_port):
            settings.EMAIL_PORT = port
        pipeline_tick()
        ticks += 1
        for expires_at in EmailNotification.objects.values_list("expires_at", flat=True):
            grace = settings.NOTIFICATIONS_EXPIRY_GRACE
            moments |= {expires_at - timedelta(seconds=1), expires_at + grace + timedelta(seconds=1)}
        upcoming = [moment for moment in moments if moment > now]
        # Backoffs and pauses end every few seconds during the outage; the six-hourly ticks cover it.
        if not down and (event := next_event(now, pauses=False)) is not None:
            upcoming.append(event)
        if not upcoming:
            break
        time_machine.move_to(min(upcoming), tick=False)

    rows = {
        row[0]: row
        for row in EmailNotification.objects.values_list(
            "to_address", "status", "expires_at", "order__requested_send_time", "id"
        )
    }
    sent_at = {}
    for message, at in zip(provider.received, provider.received_at, strict=True):
        [address] = message.rcpt_tos
        _, _, expires_at, send_time, _ = rows[address]
        moment = datetime.fromtimestamp(at, UTC)
        assert send_time <= moment < expires_at, (address, moment, send_time, expires_at)
        assert not OUTAGE[0] <= moment < OUTAGE[1]
        assert address not in sent_at, f"{address} sent twice"
        sent_at[address] = moment

    assert sent_at == {
        "a@x.no": T0,
        "d@x.no": OUTAGE[1],
        "e@x.no": T0 + timedelta(days=3),
        "f@x.no": T0 + timedelta(days=3),
    }
    statuses = {address: row[1] for address, row in rows.items()}
    assert statuses == {
        "a@x.no": EmailStatus.DELIVERED,
        "late@x.no": EmailStatus.FAILED_TTL,  # its retry fell after its expiry
        "b@x.no": EmailStatus.FAILED_TTL,
        "c@x.no": EmailStatus.FAILED_TTL,
        "d@x.no": EmailStatus.DELIVERED,
        "e@x.no": EmailStatus.DELIVERED,
        "f@x.no": EmailStatus.DELIVERED,
    }
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.COMPLETED}
    assert ticks < 200
