"""Recipients streamed in with COPY are stored exactly as the ORM's bulk insert stored them."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from django.db import transaction

from orders.models import Order, Recipient
from orders.services import RecipientData, recipients_copy
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
