"""Claiming under concurrency: two workers (threads with their own connections) never take the same order."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from dispatch.services.order_claims import order_claim_next
from dispatch.services.processing import order_process, orders_process_due
from notifications_project.celery import app as celery_app
from orders.models import Order, OrderStatus, Recipient, SmsNotification
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch) -> None:
    """These tests commit, so the send task is enqueued: record it at the broker edge instead."""
    monkeypatch.setattr(celery_app, "send_task", lambda *args, **kwargs: None)


def due_orders(count: int, recipients: int = 1) -> list[Order]:
    orders = OrderFactory.create_batch(count, requested_send_time=timezone.now())
    Recipient.objects.bulk_create(
        Recipient(order=order, position=position, mobile_number=f"+4799{position:06d}")
        for order in orders
        for position in range(recipients)
    )
    return orders


def concurrently(*works: Callable[[], Any]) -> list[Any]:
    """Run each callable in its own thread, released together; each thread has its own connection."""
    barrier = threading.Barrier(len(works))
    results: list[Any] = [None] * len(works)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = works[index]()
        except BaseException as exc:  # surfaced in the test thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(works))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def test_two_workers_claiming_at_once_never_claim_the_same_order():
    orders = due_orders(30)

    def claim_all() -> list[Any]:
        claimed = []
        while (claim := order_claim_next()) is not None:
            claimed.append(claim.order_id)
        return claimed

    first, second = concurrently(claim_all, claim_all)

    assert not set(first) & set(second)
    assert sorted(first + second) == sorted(o.id for o in orders)


def test_two_sweeps_at_once_process_each_order_exactly_once():
    orders = due_orders(12, recipients=3)

    first, second = concurrently(orders_process_due, orders_process_due)

    assert first + second == 12
    assert set(Order.objects.values_list("status", "processing_attempts")) == {(OrderStatus.PROCESSED, 1)}
    assert SmsNotification.objects.count() == 36
    for order in orders:
        assert SmsNotification.objects.filter(order=order).count() == 3


def test_a_duplicate_message_for_one_order_processed_concurrently_generates_once():
    (order,) = due_orders(1, recipients=5)

    concurrently(*[lambda: order_process(order_id=order.id)] * 2)

    order.refresh_from_db()
    assert (order.status, order.processing_attempts) == (OrderStatus.PROCESSED, 1)
    assert SmsNotification.objects.filter(order=order).count() == 5


def test_cancellation_racing_a_claim_leaves_exactly_one_winner():
    orders = due_orders(20)
    ids = [o.id for o in orders]

    def cancel_all() -> int:
        # The API's cancel is a conditional move from Registered, like the claim.
        return sum(
            Order.objects.filter(id=order_id, status=OrderStatus.REGISTERED).update(
                status=OrderStatus.CANCELLED
            )
            for order_id in ids
        )

    concurrently(cancel_all, orders_process_due)

    cancelled = Order.objects.filter(status=OrderStatus.CANCELLED)
    processed = Order.objects.filter(status=OrderStatus.PROCESSED)
    assert cancelled.count() + processed.count() == 20
    assert not SmsNotification.objects.filter(order__in=cancelled).exists()
    assert SmsNotification.objects.filter(order__in=processed).count() == processed.count()
