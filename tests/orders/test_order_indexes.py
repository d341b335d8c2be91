"""Per-order reads of recipients and notifications stay on an index without the order_id-only indexes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count

from orders.models import (
    EMAIL_PENDING_STATUSES,
    SMS_PENDING_STATUSES,
    EmailNotification,
    Order,
    Recipient,
    SmsNotification,
)
from tests.factories import OrderFactory, RecipientFactory

pytestmark = pytest.mark.django_db

TABLES = [Recipient, EmailNotification, SmsNotification]


@pytest.fixture
def no_seq_scan() -> Iterator[None]:
    # Tiny test tables are cheapest to scan; with scans priced out, a plan shows the index PostgreSQL
    # would use on a large table, or a Seq Scan when none can serve the query.
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
    yield
    with connection.cursor() as cursor:
        cursor.execute("RESET enable_seqscan")


@pytest.mark.parametrize("model", TABLES)
def test_no_index_on_order_id_alone(model: Any) -> None:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)

    alone = [name for name, info in constraints.items() if info["index"] and info["columns"] == ["order_id"]]

    assert alone == []


def _plans() -> dict[str, str]:
    order = OrderFactory()
    return {
        "recipients in order": Recipient.objects.filter(order=order).order_by("position").explain(),
        "sms of an order": SmsNotification.objects.filter(order=order).explain(),
        "sms counts by status": SmsNotification.objects.filter(order=order)
        .values("status")
        .annotate(n=Count("id"))
        .explain(),
        "pending sms": SmsNotification.objects.filter(order=order, status__in=SMS_PENDING_STATUSES).explain(),
        "emails of an order": EmailNotification.objects.filter(order=order).explain(),
        "pending emails": EmailNotification.objects.filter(
            order=order, status__in=EMAIL_PENDING_STATUSES
        ).explain(),
    }


@pytest.mark.usefixtures("no_seq_scan")
def test_per_order_queries_use_an_index() -> None:
    for query, plan in _plans().items():
        assert "Seq Scan" not in plan, f"{query}:\n{plan}"
        assert "Index" in plan, f"{query}:\n{plan}"


def test_the_recipient_table_has_no_foreign_key_and_deleting_an_order_still_deletes_its_recipients() -> None:
    # Dropped for the COPY of large orders (orders/migrations/0009); the ORM's CASCADE stays.
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Recipient._meta.db_table)
    assert [name for name, info in constraints.items() if info["foreign_key"]] == []

    kept, deleted = RecipientFactory(), RecipientFactory()
    deleted.order.delete()

    assert list(Recipient.objects.values_list("id", flat=True)) == [kept.id]


@pytest.mark.usefixtures("no_seq_scan")
def test_admin_search_by_a_recipient_number_uses_the_partial_indexes() -> None:
    # Among recipients given by a number and by an address (no entry in either partial index).
    order = OrderFactory()
    RecipientFactory(order=order, position=0)
    RecipientFactory(order=order, position=1, mobile_number=None, national_identity_number="11876995923")
    RecipientFactory(order=order, position=2, mobile_number=None, organization_number="311000179")
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Recipient._meta.db_table}")
    searches = {
        "recipient_nin_given": Recipient.objects.filter(national_identity_number="11876995923"),
        "recipient_orgno_given": Recipient.objects.filter(organization_number="311000179"),
    }
    for index, recipients in searches.items():
        plan = Order.objects.filter(id__in=recipients.values("order_id")).explain()
        assert index in plan, plan
        assert list(Order.objects.filter(id__in=recipients.values("order_id"))) == [order]
