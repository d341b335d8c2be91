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
    Recipient,
    SmsNotification,
)
from tests.factories import OrderFactory

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
