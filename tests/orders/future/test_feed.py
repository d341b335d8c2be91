"""The status feed: written once when an order becomes final, read with a cursor by its creator."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import IntegrityError, connections, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from dispatch.services.completion import order_complete_if_done, orders_complete
from dispatch.services.processing import order_process
from orders.feed import MAX_PAGE_SIZE, status_feed_content_purge, status_feed_purge, status_feed_record
from orders.models import EmailStatus, Order, OrderStatus, SmsStatus, StatusFeedEntry
from orders.tasks import future_purge_task
from tests.factories import EmailNotificationFactory, OrderFactory, SmsNotificationFactory
from tests.orders.future.conftest import FUTURE, post_json

pytestmark = pytest.mark.django_db


def finished_order(creator: str = "ttd", **fields: Any) -> Order:
    """A Processed order whose only notification is delivered: the next completion check completes it."""
    fields.setdefault("status", OrderStatus.PROCESSED)
    order = OrderFactory(creator=creator, **fields)
    SmsNotificationFactory(order=order, status=SmsStatus.DELIVERED, mobile_number="+4799999999")
    return order


def feed(client: APIClient, **params: Any) -> Any:
    return client.get(f"{FUTURE}/shipment/feed", params)


# --- Written exactly once ----------------------------------------------------------------------------


def test_completing_an_order_writes_one_entry_with_its_notifications_at_that_moment(
    api_client: APIClient,
) -> None:
    order = finished_order(senders_reference="ref-9")
    EmailNotificationFactory(order=order, status=EmailStatus.FAILED_INVALID_EMAIL_FORMAT, to_address="x@")

    assert order_complete_if_done(order_id=order.id)

    (entry,) = feed(api_client).json()
    assert entry == {
        "shipmentId": str(order.id),
        "sendersReference": "ref-9",
        "recipients": [
            {
                "destination": "x@",
                "status": "Email_Failed_InvalidFormat",
                "lastUpdate": entry["recipients"][0]["lastUpdate"],
            },
            {
                "destination": "+4799999999",
                "status": "SMS_Delivered",
                "lastUpdate": entry["recipients"][1]["lastUpdate"],
            },
        ],
        "status": "Order_Completed",
        "lastUpdate": entry["lastUpdate"],
        "shipmentType": "Notification",
        "sequenceNumber": StatusFeedEntry.objects.get().id,
    }
    assert entry["lastUpdate"].endswith("Z")
    assert entry["recipients"][0]["lastUpdate"].endswith("Z")


def test_repeated_completion_checks_and_the_sweep_write_no_second_entry() -> None:
    order = finished_order()

    assert order_complete_if_done(order_id=order.id)
    assert not order_complete_if_done(order_id=order.id)
    assert orders_complete() == 0

    assert StatusFeedEntry.objects.filter(order=order).count() == 1


def test_the_completion_sweep_writes_the_entries_of_the_orders_it_completes() -> None:
    orders = [finished_order() for _ in range(3)]
    pending = OrderFactory(status=OrderStatus.PROCESSED)
    SmsNotificationFactory(order=pending, status=SmsStatus.ACCEPTED)

    assert orders_complete(batch_size=2) == 3

    assert set(StatusFeedEntry.objects.values_list("order_id", flat=True)) == {o.id for o in orders}


def test_an_order_completed_again_after_a_retry_keeps_its_first_entry() -> None:
    order = finished_order()
    order_complete_if_done(order_id=order.id)
    first = StatusFeedEntry.objects.get()
    # A retried notification reopens the order (as the retry service does), and it completes again.
    Order.objects.filter(id=order.id).update(status=OrderStatus.PROCESSED)

    assert order_complete_if_done(order_id=order.id)

    assert list(StatusFeedEntry.objects.values_list("id", "last_update")) == [(first.id, first.last_update)]


def test_the_database_refuses_a_second_entry_for_an_order() -> None:
    order = finished_order(status=OrderStatus.COMPLETED)
    StatusFeedEntry.objects.create(
        order=order,
        creator="ttd",
        order_status="Completed",
        last_update=timezone.now(),
        recipients=[],
        created_at=timezone.now(),
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        StatusFeedEntry.objects.create(
            order=order,
            creator="ttd",
            order_status="Completed",
            last_update=timezone.now(),
            recipients=[],
            created_at=timezone.now(),
        )


def test_an_order_completed_at_generation_gets_its_entry_in_the_same_transaction(
    api_client: APIClient, registry_person: Any
) -> None:
    registry_person("01010112345", email="ola@example.no", reserved=True)
    order_id = post_json(
        api_client,
        "/orders/email",
        {"subject": "S", "body": "B", "recipients": [{"nationalIdentityNumber": "01010112345"}]},
    ).json()["orderId"]

    assert order_process(order_id=uuid.UUID(order_id)).status == OrderStatus.COMPLETED

    (entry,) = feed(api_client).json()
    assert entry["shipmentId"] == order_id
    # A reserved recipient has no address: the destination is left out.
    assert [(r.get("destination"), r["status"]) for r in entry["recipients"]] == [
        (None, "Email_Failed_RecipientReserved")
    ]


def test_a_cancelled_order_gets_an_entry_without_recipients(api_client: APIClient) -> None:
    order = OrderFactory(requested_send_time=timezone.now() + timedelta(days=1))

    api_client.put(f"/notifications/api/v1/orders/{order.id}/cancel")
    api_client.put(f"/notifications/api/v1/orders/{order.id}/cancel")  # cancelling again changes nothing

    (entry,) = feed(api_client).json()
    assert (entry["shipmentId"], entry["status"], entry["recipients"]) == (
        str(order.id),
        "Order_Cancelled",
        [],
    )


def test_orders_that_are_not_final_get_no_entry() -> None:
    order = OrderFactory(status=OrderStatus.PROCESSED)

    with transaction.atomic():
        assert status_feed_record(order_ids=[order.id]) == 0

    assert not StatusFeedEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_feed_write_must_run_in_the_transaction_that_makes_the_order_final() -> None:
    order = finished_order(status=OrderStatus.COMPLETED)

    with pytest.raises(RuntimeError):
        status_feed_record(order_ids=[order.id])


@pytest.mark.django_db(transaction=True)
def test_one_creators_entries_get_their_sequence_numbers_in_commit_order() -> None:
    """A second writer for the same creator waits until the first commits, so no cursor can skip one."""
    first_order, second_order = (
        finished_order(status=OrderStatus.COMPLETED),
        finished_order(status=OrderStatus.COMPLETED),
    )
    done: list[str] = []

    def second_writer() -> None:
        try:
            with transaction.atomic():
                status_feed_record(order_ids=[second_order.id])
            done.append("second")
        finally:
            connections.close_all()

    with transaction.atomic():
        status_feed_record(order_ids=[first_order.id])
        thread = threading.Thread(target=second_writer)
        thread.start()
        assert _a_session_waits_for_a_lock()
        assert done == []
    thread.join(timeout=30)

    assert done == ["second"]
    assert list(StatusFeedEntry.objects.order_by("id").values_list("order_id", flat=True)) == [
        first_order.id,
        second_order.id,
    ]


def _a_session_waits_for_a_lock() -> bool:
    connection = connections.create_connection("default")
    try:
        with connection.cursor() as probe:
            for _ in range(2000):
                probe.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                if probe.fetchone()[0]:
                    return True
                threading.Event().wait(0.005)
    finally:
        connection.close()
    return False


# --- Read with a cursor ------------------------------------------------------------------------------


def _completed(count: int, creator: str = "ttd") -> list[int]:
    for _ in range(count):
        order_complete_if_done(order_id=finished_order(creator).id)
    return list(StatusFeedEntry.objects.filter(creator=creator).order_by("id").values_list("id", flat=True))


def test_a_cursor_reads_every_entry_once_in_order(api_client: APIClient) -> None:
    sequence = _completed(5)

    pages, seq = [], 0
    while page := feed(api_client, seq=seq, pageSize=2).json():
        pages.append([entry["sequenceNumber"] for entry in page])
        seq = page[-1]["sequenceNumber"]

    assert pages == [sequence[0:2], sequence[2:4], sequence[4:5]]


def test_descending_starts_at_the_newest_and_pages_backwards_without_overlap(api_client: APIClient) -> None:
    sequence = _completed(5)

    newest = [e["sequenceNumber"] for e in feed(api_client, orderBy="DESC", pageSize=3).json()]
    older = [e["sequenceNumber"] for e in feed(api_client, orderBy="desc", pageSize=3, seq=newest[-1]).json()]

    assert newest == sequence[:1:-1]
    assert older == sequence[1::-1]


def test_the_feed_shows_only_the_callers_entries(api_client: APIClient, other_client: APIClient) -> None:
    _completed(2, creator="nav")

    assert feed(api_client).json() == []
    assert len(feed(other_client).json()) == 2


def test_the_page_size_is_at_most_500_and_at_least_1(api_client: APIClient) -> None:
    orders = Order.objects.bulk_create(
        [
            Order(
                creator="ttd",
                requested_send_time=timezone.now(),
                notification_channel="Sms",
                status="Completed",
            )
            for _ in range(MAX_PAGE_SIZE + 1)
        ]
    )
    StatusFeedEntry.objects.bulk_create(
        [
            StatusFeedEntry(
                order=o,
                creator="ttd",
                order_status="Completed",
                last_update=timezone.now(),
                recipients=[],
                created_at=timezone.now(),
            )
            for o in orders
        ]
    )

    assert len(feed(api_client).json()) == MAX_PAGE_SIZE
    assert len(feed(api_client, pageSize=100_000).json()) == MAX_PAGE_SIZE
    assert len(feed(api_client, pageSize=0).json()) == 1
    assert len(feed(api_client, pageSize=-5).json()) == 1


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"seq": -1}, {"seq": ["Sequence number cannot be less than 0."]}),
        ({"seq": "abc"}, {"seq": ["The sequence number must be a whole number."]}),
        ({"seq": "5_000"}, {"seq": ["The sequence number must be a whole number."]}),
        ({"seq": ""}, {"seq": ["The sequence number must be a whole number."]}),
        ({"seq": str(2**63)}, {"seq": ["Sequence number cannot be larger than 9223372036854775807."]}),
        ({"orderBy": ""}, {"orderBy": ["orderBy must be Asc or Desc."]}),
        ({"pageSize": "ten"}, {"pageSize": ["The page size must be a whole number."]}),
        ({"orderBy": "Sideways"}, {"orderBy": ["orderBy must be Asc or Desc."]}),
    ],
)
def test_bad_query_parameters_are_a_400(api_client: APIClient, params: dict[str, Any], errors: Any) -> None:
    response = feed(api_client, **params)

    assert response.status_code == 400
    assert response.json()["errors"] == errors


def test_a_feed_page_is_one_query(api_client: APIClient, django_assert_num_queries: Any) -> None:
    _completed(3)

    with django_assert_num_queries(1):
        assert len(feed(api_client).json()) == 3


def test_entries_past_the_retention_are_purged(settings: Any) -> None:
    settings.NOTIFICATIONS_STATUS_FEED_RETENTION_DAYS = 90
    with time_machine.travel(timezone.now() - timedelta(days=91)):
        _completed(2)
    kept = _completed(1)[-1:]

    assert status_feed_purge(batch_size=1) == 2

    assert list(StatusFeedEntry.objects.values_list("id", flat=True)) == kept


def test_destinations_leave_entries_older_than_the_personal_data_retention(
    api_client: APIClient, settings: Any
) -> None:
    settings.NOTIFICATIONS_RETENTION_DAYS = 30
    with time_machine.travel(timezone.now() - timedelta(days=31)):
        _completed(1)
    _completed(1)

    assert status_feed_content_purge() == 1
    assert status_feed_content_purge() == 0  # nothing left to purge in it

    old, new = feed(api_client).json()
    assert old["recipients"] == [
        {"status": "SMS_Delivered", "lastUpdate": old["recipients"][0]["lastUpdate"]}
    ]
    assert new["recipients"][0]["destination"] == "+4799999999"


def test_a_retention_of_zero_keeps_the_destinations(settings: Any) -> None:
    settings.NOTIFICATIONS_RETENTION_DAYS = 0
    with time_machine.travel(timezone.now() - timedelta(days=400)):
        _completed(1)

    assert status_feed_content_purge() == 0


def test_the_hourly_task_purges_old_entries_and_old_content(settings: Any) -> None:
    settings.NOTIFICATIONS_RETENTION_DAYS = 30
    with time_machine.travel(timezone.now() - timedelta(days=91)):
        _completed(1)
    with time_machine.travel(timezone.now() - timedelta(days=31)):
        _completed(1)

    future_purge_task()

    (entry,) = StatusFeedEntry.objects.all()
    assert "destination" not in entry.recipients[0]
