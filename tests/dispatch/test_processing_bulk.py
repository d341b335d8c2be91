"""The COPY spool used by notification generation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from dispatch.services import bulk
from dispatch.services.bulk import CopySpool, copy_text
from orders.models import SmsNotification
from tests.factories import OrderFactory


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "\\N"),
        (True, "t"),
        (False, "f"),
        (7, "7"),
        (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "2026-01-02T03:04:05+00:00"),
        ("a\tb\nc\rd\\e", "a\\tb\\nc\\rd\\\\e"),
        # Each special character on its own is found (the plain-text shortcut must not skip it).
        ("back\\slash", "back\\\\slash"),
        ("tab\t", "tab\\t"),
        ("\nline", "\\nline"),
        ("c\rr", "c\\rr"),
        ("+4799999999", "+4799999999"),
        ({"k": "v"}, '{"k": "v"}'),
    ],
)
def test_copy_text_encodes_values_for_copy(value, text):
    assert copy_text(value) == text


def test_generated_ids_are_distinct_version_4_uuids():
    ids = bulk._uuid4_strings(1000)

    assert len(set(ids)) == 1000
    assert {uuid.UUID(i).version for i in ids} == {4}
    assert {uuid.UUID(i).variant for i in ids} == {uuid.RFC_4122}


def test_a_row_without_a_required_column_is_refused():
    spool = CopySpool(SmsNotification, now=timezone.now())

    with pytest.raises(ImproperlyConfigured, match="expires_at"):
        spool.row({"order_id": uuid.uuid4(), "recipient_position": 0, "status_changed_at": timezone.now()})


@pytest.mark.django_db
def test_rows_spilled_to_disk_are_all_copied_with_defaults_filled_in(monkeypatch):
    monkeypatch.setattr(bulk, "SPOOL_MEMORY_BYTES", 1024)  # spill to a file after a few rows
    order = OrderFactory()
    now = timezone.now()
    spool = CopySpool(SmsNotification, now=now)
    template = spool.row(
        {"order_id": order.id, "recipient_position": 0, "status_changed_at": now, "expires_at": now}
    )
    for position in range(2500):
        row = template.copy()
        row[spool.position["recipient_position"]] = str(position)
        row[spool.position["mobile_number"]] = copy_text(f"+4799{position:06d}")
        spool.add(row)

    try:
        assert spool.copy_into() == 2500
    finally:
        spool.close()

    rows = SmsNotification.objects.filter(order=order)
    assert rows.count() == 2500
    first = rows.get(recipient_position=0)
    assert (first.status, first.attempts, first.provider, first.created_at) == ("New", 0, "", now)
