"""Order completion: Processed becomes Completed once every notification of the order is final."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatch.services.completion import order_complete_if_done, orders_complete
from orders.models import OrderStatus
from tests.factories import EmailNotificationFactory, OrderFactory, SmsNotificationFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_order_with_only_final_notifications_is_completed(time_machine):
    time_machine.move_to(NOW, tick=False)
    order = OrderFactory(status=OrderStatus.PROCESSED, email_template=None)
    SmsNotificationFactory(order=order, status="Delivered")
    EmailNotificationFactory(order=order, status="Failed_Bounced")

    assert order_complete_if_done(order_id=order.id) is True

    order.refresh_from_db()
    assert (order.status, order.status_changed_at) == (OrderStatus.COMPLETED, NOW)


@pytest.mark.parametrize(
    ("factory", "status"),
    [
        (EmailNotificationFactory, "New"),
        (EmailNotificationFactory, "Sending"),
        (EmailNotificationFactory, "Succeeded"),
        (SmsNotificationFactory, "New"),
        (SmsNotificationFactory, "Sending"),
        (SmsNotificationFactory, "Accepted"),
    ],
)
def test_order_with_a_pending_notification_stays_processed(factory, status):
    order = OrderFactory(status=OrderStatus.PROCESSED)
    SmsNotificationFactory(order=order, status="Delivered")
    factory(order=order, status=status)

    assert order_complete_if_done(order_id=order.id) is False

    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSED


def test_completing_twice_changes_nothing_the_second_time(time_machine):
    time_machine.move_to(NOW, tick=False)
    order = OrderFactory(status=OrderStatus.PROCESSED)
    SmsNotificationFactory(order=order, status="Delivered")
    order_complete_if_done(order_id=order.id)
    time_machine.shift(timedelta(minutes=5))

    assert order_complete_if_done(order_id=order.id) is False

    order.refresh_from_db()
    assert order.status_changed_at == NOW


@pytest.mark.parametrize(
    "status",
    [
        OrderStatus.REGISTERED,
        OrderStatus.PROCESSING,
        OrderStatus.CANCELLED,
        OrderStatus.SEND_CONDITION_NOT_MET,
    ],
)
def test_only_processed_orders_are_completed(status):
    # A Processing order has no notifications yet; it must not look done.
    order = OrderFactory(status=status)

    assert order_complete_if_done(order_id=order.id) is False

    order.refresh_from_db()
    assert order.status == status


def test_completion_sweep_completes_every_done_order_and_only_those():
    done = OrderFactory.create_batch(5, status=OrderStatus.PROCESSED)
    for order in done:
        SmsNotificationFactory(order=order, status="Failed_Undelivered")
    waiting = OrderFactory(status=OrderStatus.PROCESSED)
    SmsNotificationFactory(order=waiting, status="Accepted")

    assert orders_complete(batch_size=2) == 5
    assert orders_complete(batch_size=2) == 0

    assert {o.status for o in type(waiting).objects.filter(id__in=[o.id for o in done])} == {
        OrderStatus.COMPLETED
    }
    waiting.refresh_from_db()
    assert waiting.status == OrderStatus.PROCESSED
