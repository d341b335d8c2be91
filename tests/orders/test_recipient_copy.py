"""Recipients streamed in with COPY are stored exactly as the ORM's bulk insert stored them."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from django.db import transaction

from orders.models import Order, Recipient
from orders.services import MobileRecipients, RecipientData, recipients_copy
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

RECIPIENTS = [
    RecipientData(mobile_number="+4799999999"),
    RecipientData(email_address="a@example.no", mobile_number="004741234567"),
    RecipientData(national_identity_number="11876995923"),
    RecipientData(national_identity_number="01017012345"),
    RecipientData(national_identity_number="02027012345"),  # not found in the registry: no reservation
    RecipientData(organization_number="311000179"),
    RecipientData(external_identity="urn:altinn:person:idporten-email:a@example.no"),
    RecipientData(),
    # COPY's own syntax in values (tab, newline, backslash, "\N") and text beyond Latin-1.
    RecipientData(email_address="tab\there@x.no", mobile_number="\\N"),
    RecipientData(email_address="new\nline\\back@x.no", mobile_number="+47 999 99 999"),
    RecipientData(email_address="ærlig.øst.åpen@eksempel.no", mobile_number="+47٩٩٩٩٩٩٩٩"),
    RecipientData(email_address="", mobile_number=""),
]
RESERVATIONS = {"11876995923": True, "01017012345": False}


def _stored(order: Order) -> list[dict[str, Any]]:
    return list(
        Recipient.objects.filter(order=order)
        .order_by("position")
        .values(
            "position",
            "email_address",
            "mobile_number",
            "organization_number",
            "national_identity_number",
            "external_identity",
            "is_reserved",
        )
    )


def _orm_insert(order: Order) -> None:
    """The insert the COPY replaced, as it was."""
    Recipient.objects.bulk_create(
        Recipient(
            order=order,
            position=position,
            email_address=r.email_address,
            mobile_number=r.mobile_number,
            organization_number=r.organization_number,
            national_identity_number=r.national_identity_number,
            external_identity=r.external_identity,
            is_reserved=RESERVATIONS.get(r.national_identity_number) if r.national_identity_number else None,
        )
        for position, r in enumerate(RECIPIENTS)
    )


def test_copy_stores_exactly_what_the_orm_stored() -> None:
    by_orm, by_copy = OrderFactory(), OrderFactory()
    _orm_insert(by_orm)
    with transaction.atomic():
        recipients_copy(order_id=by_copy.id, recipients=RECIPIENTS, reservations=RESERVATIONS)

    orm_rows, copy_rows = _stored(by_orm), _stored(by_copy)
    assert copy_rows == orm_rows
    assert len(copy_rows) == len(RECIPIENTS)
    assert copy_rows[2]["is_reserved"] is True
    assert copy_rows[3]["is_reserved"] is False
    assert copy_rows[4]["is_reserved"] is None
    assert copy_rows[0]["is_reserved"] is None
    assert copy_rows[8]["mobile_number"] == "\\N"  # a value, not NULL
    assert copy_rows[11]["email_address"] == ""


def test_copy_of_many_recipients_keeps_their_positions() -> None:
    order = OrderFactory()
    numbers = [f"+4799{n:06d}" for n in range(20_000)]
    with transaction.atomic():
        recipients_copy(
            order_id=order.id, recipients=[RecipientData(mobile_number=n) for n in numbers], reservations={}
        )

    stored = list(Recipient.objects.filter(order=order).order_by("position").values_list("mobile_number"))
    assert [number for (number,) in stored] == numbers


def test_a_failed_copy_leaves_no_recipient_behind() -> None:
    order = OrderFactory()
    too_long = RecipientData(mobile_number="+47" + "9" * 40)  # over the column's 32 characters
    recipients = [RecipientData(mobile_number="+4799999999"), too_long]
    with pytest.raises(psycopg.errors.StringDataRightTruncation), transaction.atomic():
        recipients_copy(order_id=order.id, recipients=recipients, reservations={})

    assert not Recipient.objects.filter(order=order).exists()


def _all_columns(order: Order) -> list[tuple[Any, ...]]:
    # Every column but the row's own id, so two orders' rows compare whatever their ids.
    fields = [f.attname for f in Recipient._meta.concrete_fields if f.attname not in ("id", "order_id")]
    return list(Recipient.objects.filter(order=order).order_by("position").values_list(*fields))


@pytest.mark.parametrize("count", [1, 99, 10_000, 10_001, 25_000])
def test_mobile_numbers_as_copy_text_store_exactly_what_write_row_stores(count: int) -> None:
    """The text written for MobileRecipients (chunk edges included) against write_row of the same list."""
    numbers = [f"+47{4 if n % 3 else 9}{n:07d}" if n % 5 else f"0047{n:08d}" for n in range(count)]
    by_rows, by_text = OrderFactory(), OrderFactory()
    with transaction.atomic():
        recipients_copy(
            order_id=by_rows.id, recipients=[RecipientData(mobile_number=n) for n in numbers], reservations={}
        )
        recipients_copy(order_id=by_text.id, recipients=MobileRecipients(numbers), reservations={})

    assert _all_columns(by_text) == _all_columns(by_rows)
    assert len(_all_columns(by_text)) == count


@pytest.mark.parametrize(
    "numbers",
    [["+4799999999", "tab\there"], ["back\\slash"], ["+4799999999\n+4799999998"], ["cr\r"], [""]],
    ids=["tab", "backslash", "newline", "carriage return", "empty"],
)
def test_mobile_numbers_copy_text_refuses_what_it_would_have_to_escape(numbers: list[str]) -> None:
    order = OrderFactory()
    with pytest.raises(ValueError, match="plain form"), transaction.atomic():
        recipients_copy(order_id=order.id, recipients=MobileRecipients(numbers), reservations={})

    assert not Recipient.objects.filter(order=order).exists()


def test_mobile_recipients_read_as_the_list_of_recipients_they_stand_for() -> None:
    numbers = ["+4799999999", "004741234567", "+4790000000"]
    as_list = [RecipientData(mobile_number=n) for n in numbers]
    recipients = MobileRecipients(numbers)

    assert recipients == as_list
    assert as_list == recipients
    assert list(recipients) == as_list
    assert recipients[1] == as_list[1]
    assert recipients[-1] == as_list[-1]
    assert recipients[1:] == as_list[1:]
    assert len(recipients) == 3
    assert recipients != as_list[:2]
    assert recipients != [*as_list[:2], RecipientData(email_address="+4790000000")]
    assert recipients == MobileRecipients(list(numbers))
