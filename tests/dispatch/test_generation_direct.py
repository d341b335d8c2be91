"""Recipients given only by an address skip resolution and planning (``OrderGenerator.add_rows``).

The shortcut must store exactly what the general path (``OrderGenerator.add`` of every resolved
recipient) stores: the same rows, column for column, the same merged duplicates and the same counts, for
orders that mix both kinds of recipient across chunks.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from django.forms.models import model_to_dict
from rest_framework.test import APIClient

from dispatch.services.generation import OrderGenerator, RecipientRow, ResolvedRecipient
from dispatch.services.processing import order_process
from orders.models import EmailNotification, Order, SmsNotification
from tests.orders.api.conftest import post_json, registry_organization, registry_person

pytestmark = pytest.mark.django_db
__all__ = ["registry_organization", "registry_person"]

# Columns that differ between two orders processed at two moments; everything else must be equal.
_PER_ORDER = {"id", "order", "created_at", "status_changed_at"}


def _general_path(
    self: OrderGenerator, rows: Iterable[RecipientRow], resolve: Callable[[RecipientRow], ResolvedRecipient]
) -> None:
    """What add_rows did before the shortcut: every recipient resolved and planned."""
    self.add(resolve(row) for row in rows)


def _register(client: APIClient, path: str, body: dict[str, Any]) -> uuid.UUID:
    response = post_json(client, path, body)
    assert response.status_code == 202, response.content
    return uuid.UUID(str(response.json()["orderId"]))


def _stored(
    model: type[EmailNotification] | type[SmsNotification], order_id: uuid.UUID
) -> list[dict[str, Any]]:
    rows = [
        {k: v for k, v in model_to_dict(n).items() if k not in _PER_ORDER}
        for n in model.objects.filter(order_id=order_id)
    ]
    return sorted(rows, key=lambda row: (row["recipient_position"], str(row)))


def _both_paths(
    client: APIClient, monkeypatch: Any, path: str, body: dict[str, Any]
) -> tuple[uuid.UUID, uuid.UUID]:
    """The same order registered twice: processed with the shortcut, and with the general path only."""
    direct, general = _register(client, path, body), _register(client, path, body)
    # Registered a moment apart: the same send time, so the same expiry.
    send_time = Order.objects.get(id=direct).requested_send_time
    Order.objects.filter(id=general).update(requested_send_time=send_time)
    order_process(order_id=direct)
    with monkeypatch.context() as patch:
        patch.setattr(OrderGenerator, "add_rows", _general_path)
        order_process(order_id=general)
    return direct, general


def _assert_same_orders(direct: uuid.UUID, general: uuid.UUID) -> None:
    for model in (SmsNotification, EmailNotification):
        assert _stored(model, direct) == _stored(model, general)
    fields = ("status", "processing_note")
    assert Order.objects.values_list(*fields).get(id=direct) == Order.objects.values_list(*fields).get(
        id=general
    )


def test_a_mixed_sms_order_stores_the_same_rows_as_the_general_path(
    api_client: APIClient, monkeypatch: Any, registry_person: Any, registry_organization: Any, settings: Any
) -> None:
    settings.NOTIFICATIONS_PROCESSING_CHUNK_SIZE = 3  # duplicates reached again in later chunks
    registry_person("01017000001", mobile="+4799999991", name="Kari")
    registry_person("03037000003", reserved=True, mobile="+4799999995", name="Reservert")
    registry_organization("987654321", mobiles=("+4799999992", "+4799999991"))
    body = {
        "body": "Hei $recipientName$",
        "recipients": [
            {"mobileNumber": "+4799999993"},  # 0: direct
            {"nationalIdentityNumber": "01017000001"},  # 1: person, ...991, named
            {"mobileNumber": "004799999991"},  # 2: direct, ...991 again: merged into 1
            {"mobileNumber": "+4799999993"},  # 3: direct, merged into 0
            {"organizationNumber": "987654321"},  # 4: ...992 new, ...991 merged into 1
            {"mobileNumber": "+47 999 99 992"},  # 5: direct, merged into 4
            {"nationalIdentityNumber": "03037000003"},  # 6: reserved: failed, never merged
            {"nationalIdentityNumber": "05057000005"},  # 7: unknown person: failed
            {"mobileNumber": "+4799999994"},  # 8: direct
            {"mobileNumber": "+4799999995"},  # 9: direct, the reserved person's number
        ],
    }

    direct, general = _both_paths(api_client, monkeypatch, "/orders/sms", body)

    stored = _stored(SmsNotification, direct)
    assert [
        (n["recipient_position"], n["mobile_number"], n["status"], n["served_positions"]) for n in stored
    ] == [
        (0, "+4799999993", "New", [0, 3]),
        (1, "+4799999991", "New", [1, 2, 4]),
        (4, "+4799999992", "New", [4, 5]),
        (6, "", "Failed_RecipientReserved", None),
        (7, "", "Failed_RecipientNotIdentified", None),
        (8, "+4799999994", "New", None),
        (9, "+4799999995", "New", None),
    ]
    _assert_same_orders(direct, general)


def test_a_mixed_email_order_stores_the_same_rows_as_the_general_path(
    api_client: APIClient, monkeypatch: Any, registry_person: Any, registry_organization: Any, settings: Any
) -> None:
    settings.NOTIFICATIONS_PROCESSING_CHUNK_SIZE = 2
    registry_person("01017000001", email="kari@example.no", name="Kari")
    registry_organization("987654321", emails=("post@example.no",))
    body = {
        "subject": "Til $recipientName$",
        "body": "Hei $recipientName$",
        "recipients": [
            {"emailAddress": "Kari@Example.NO"},  # 0: direct, owns kari@
            {"nationalIdentityNumber": "01017000001"},  # 1: person, merged into 0
            {"nationalIdentityNumber": "05057000005"},  # 2: unknown person: failed
            {"organizationNumber": "987654321"},  # 3: organization
            {"emailAddress": "POST@example.no"},  # 4: direct, merged into 3
            {"emailAddress": "new@example.no"},  # 5: direct
        ],
    }

    direct, general = _both_paths(api_client, monkeypatch, "/orders/email", body)

    _assert_same_orders(direct, general)
    assert [
        (n["recipient_position"], n["to_address"], n["status"], n["served_positions"])
        for n in _stored(EmailNotification, direct)
    ] == [
        (0, "Kari@Example.NO", "New", [0, 1]),
        (2, "", "Failed_RecipientNotIdentified", None),
        (3, "post@example.no", "New", [3, 4]),
        (5, "new@example.no", "New", None),
    ]


def test_an_order_of_distinct_numbers_only_is_one_row_each_with_the_template_texts(
    api_client: APIClient, monkeypatch: Any, settings: Any
) -> None:
    settings.NOTIFICATIONS_PROCESSING_CHUNK_SIZE = 7
    body = {"body": "Hei", "recipients": [{"mobileNumber": f"+47999{n:05d}"} for n in range(30)]}

    direct, general = _both_paths(api_client, monkeypatch, "/orders/sms", body)

    _assert_same_orders(direct, general)
    stored = _stored(SmsNotification, direct)
    assert [n["recipient_position"] for n in stored] == list(range(30))
    assert {(n["body"], n["parts"], n["status"], n["served_positions"]) for n in stored} == {
        (None, 1, "New", None)
    }
    assert Order.objects.get(id=direct).status == "Processed"
