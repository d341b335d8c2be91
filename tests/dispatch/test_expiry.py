"""Expiry times per channel and policy, and the sweep that turns unfinished notifications into Failed_TTL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatch.services.expiry import email_expires_at, notifications_expire, sms_expires_at
from orders.models import OrderStatus, SendingTimePolicy
from tests.factories import EmailNotificationFactory, OrderFactory, SmsNotificationFactory

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_email_expires_48_hours_after_the_requested_send_time():
    assert email_expires_at(NOW) == NOW + timedelta(hours=48)


def test_anytime_sms_expires_48_hours_after_the_requested_send_time():
    assert sms_expires_at(NOW, SendingTimePolicy.ANYTIME) == NOW + timedelta(hours=48)


@pytest.mark.parametrize(
    ("send_time", "expires"),
    [
        # Inside the window (10:00 Oslo, winter): +48 h.
        (datetime(2026, 1, 12, 9, 0, tzinfo=UTC), datetime(2026, 1, 14, 9, 0, tzinfo=UTC)),
        # 09:00 Oslo exactly is inside (our window's start is inclusive): +48 h.
        (datetime(2026, 1, 12, 8, 0, tzinfo=UTC), datetime(2026, 1, 14, 8, 0, tzinfo=UTC)),
        # Before the window (06:00 Oslo): that day's 09:00 Oslo + 48 h.
        (datetime(2026, 1, 12, 5, 0, tzinfo=UTC), datetime(2026, 1, 14, 8, 0, tzinfo=UTC)),
        # After the window (17:00 and 23:30 Oslo): that day's 09:00 Oslo + 72 h.
        (datetime(2026, 1, 12, 16, 0, tzinfo=UTC), datetime(2026, 1, 15, 8, 0, tzinfo=UTC)),
        (datetime(2026, 1, 12, 22, 30, tzinfo=UTC), datetime(2026, 1, 15, 8, 0, tzinfo=UTC)),
        # Summer time (UTC+2): 18:00 Oslo -> 09:00 Oslo three days later is 07:00 UTC.
        (datetime(2026, 7, 6, 16, 0, tzinfo=UTC), datetime(2026, 7, 9, 7, 0, tzinfo=UTC)),
        # Across the change to summer time (29 March 2026): 09:00 Oslo stays 09:00 Oslo.
        (datetime(2026, 3, 27, 17, 0, tzinfo=UTC), datetime(2026, 3, 30, 7, 0, tzinfo=UTC)),
    ],
)
def test_daytime_sms_expiry_follows_the_send_window(send_time, expires):
    assert sms_expires_at(send_time, SendingTimePolicy.DAYTIME) == expires


def test_daytime_sms_expires_like_anytime_when_the_window_is_lifted(settings):
    settings.NOTIFICATIONS_SMS_SEND_WINDOW = "anytime"
    send_time = datetime(2026, 1, 12, 22, 30, tzinfo=UTC)

    assert sms_expires_at(send_time, SendingTimePolicy.DAYTIME) == send_time + timedelta(hours=48)


# --- the sweep -----------------------------------------------------------------------------------------

pytestmark_db = pytest.mark.django_db


def _processed_order(**kwargs):
    return OrderFactory(status=OrderStatus.PROCESSED, **kwargs)


@pytestmark_db
@pytest.mark.parametrize("status", ["New", "Sending", "Succeeded"])
def test_pending_email_past_expiry_and_grace_becomes_failed_ttl(time_machine, settings, status):
    time_machine.move_to(NOW, tick=False)
    notification = EmailNotificationFactory(
        order=_processed_order(email=True),
        status=status,
        expires_at=NOW - settings.NOTIFICATIONS_EXPIRY_GRACE,
    )
    time_machine.shift(timedelta(seconds=1))

    assert notifications_expire() == 1

    notification.refresh_from_db()
    assert notification.status == "Failed_TTL"
    assert notification.status_changed_at == NOW + timedelta(seconds=1)
    assert notification.last_error == f"Expired while {status}."


@pytestmark_db
@pytest.mark.parametrize("status", ["New", "Sending", "Accepted"])
def test_pending_sms_past_expiry_and_grace_becomes_failed_ttl(time_machine, settings, status):
    time_machine.move_to(NOW, tick=False)
    notification = SmsNotificationFactory(
        order=_processed_order(), status=status, expires_at=NOW - settings.NOTIFICATIONS_EXPIRY_GRACE
    )
    time_machine.shift(timedelta(seconds=1))

    assert notifications_expire() == 1

    notification.refresh_from_db()
    assert notification.status == "Failed_TTL"


@pytestmark_db
def test_notification_inside_its_grace_period_is_left_alone(time_machine, settings):
    time_machine.move_to(NOW, tick=False)
    notification = SmsNotificationFactory(
        order=_processed_order(), status="Accepted", expires_at=NOW - timedelta(seconds=1)
    )

    assert notifications_expire() == 0

    notification.refresh_from_db()
    assert notification.status == "Accepted"


@pytestmark_db
@pytest.mark.parametrize("status", ["Delivered", "Failed", "Failed_Bounced", "Failed_RecipientReserved"])
def test_final_status_is_never_overwritten_by_expiry(time_machine, status):
    time_machine.move_to(NOW, tick=False)
    notification = EmailNotificationFactory(
        order=_processed_order(email=True), status=status, expires_at=NOW - timedelta(days=10)
    )

    assert notifications_expire() == 0

    notification.refresh_from_db()
    assert notification.status == status


@pytestmark_db
def test_expiry_completes_the_order_once_nothing_is_pending(time_machine):
    time_machine.move_to(NOW, tick=False)
    order = _processed_order()
    SmsNotificationFactory(order=order, status="Delivered", expires_at=NOW - timedelta(days=3))
    SmsNotificationFactory(order=order, status="New", expires_at=NOW - timedelta(days=3))
    other = _processed_order()
    SmsNotificationFactory(order=other, status="New", expires_at=NOW - timedelta(days=3))
    SmsNotificationFactory(order=other, status="New", expires_at=NOW + timedelta(days=1))

    assert notifications_expire() == 2

    order.refresh_from_db()
    other.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert other.status == OrderStatus.PROCESSED


@pytestmark_db
def test_sweep_works_in_batches_and_a_second_run_changes_nothing(time_machine):
    time_machine.move_to(NOW, tick=False)
    order = _processed_order()
    SmsNotificationFactory.create_batch(7, order=order, status="New", expires_at=NOW - timedelta(days=1))

    assert notifications_expire(batch_size=3) == 7
    assert notifications_expire(batch_size=3) == 0
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
