"""A small order written in one statement stores exactly the rows the ORM path stores, or none at all."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.translation import gettext_lazy

from orders.idempotency import IdempotencyClaim, IdempotencyKeyInFlight, idempotency_complete
from orders.models import IdempotencyKey, NotificationChannel, Order, Recipient
from orders.order_statement import ONE_STATEMENT_MAX_RECIPIENTS, _insert_fields, _row_values
from orders.registry import get_registry
from orders.registry.models import Organization, OrganizationContact, Person
from orders.services import (
    OrderReceipt,
    RecipientData,
    order_create,
    order_insert,
    order_row,
    receipt_body,
    recipient_lookup_summarise,
)
from orders.warnings import TemplatePaths, order_warnings
from templates.models import EmailTemplate, SmsTemplate
from templates.records import EmailTemplateData, SmsTemplateData

pytestmark = pytest.mark.django_db

NIN, RESERVED_NIN, UNKNOWN_NIN, ORGNO = "11876995923", "01017012345", "02027012345", "311000179"

SHAPES: dict[str, dict[str, Any]] = {
    "sms": {
        "notification_channel": NotificationChannel.SMS,
        "recipients": [RecipientData(mobile_number="+4799999999")],
        "sms_template": SmsTemplateData(body="Hello"),
    },
    "email with keywords and everything optional": {
        "notification_channel": NotificationChannel.EMAIL,
        "recipients": [RecipientData(email_address="a@example.no")],
        "email_template": EmailTemplateData(
            subject="Hi $recipientName$",
            body="<p>Dear $recipientName$, ref $recipientNumber$</p>",
            content_type="Html",
            from_address="sender@example.no",
        ),
        "requested_send_time": timezone.now() + timedelta(days=2),
        "senders_reference": "ref-1",
        "condition_endpoint": "https://example.no/condition?x=1",
        "status_callback_url": "https://example.no/callback",
        "ignore_reservation": True,
        "resource_id": "urn:altinn:resource:app_ttd_x",
        "resource_action": "read",
    },
    "both channels, persons, organizations, several recipients": {
        "notification_channel": NotificationChannel.EMAIL_AND_SMS,
        "recipients": [
            RecipientData(national_identity_number=NIN),
            RecipientData(national_identity_number=RESERVED_NIN),
            RecipientData(national_identity_number=UNKNOWN_NIN),
            RecipientData(organization_number=ORGNO),
            RecipientData(email_address="b@example.no", mobile_number="+4741234567"),
            RecipientData(external_identity="urn:altinn:person:idporten-email:c@example.no"),
            RecipientData(email_address="tab\there 'quoted'\\@x.no", mobile_number="{NULL}"),
        ],
        "email_template": EmailTemplateData(subject="S", body="B"),
        "sms_template": SmsTemplateData(body="Hei $recipientName$ ærlig", sender_number="Altinn"),
        "senders_reference": "   ",
        "requested_send_time": timezone.now() - timedelta(minutes=1),
    },
    # One recipient is written from plain parameters instead of arrays: each kind of recipient once.
    "one reserved person": {
        "notification_channel": NotificationChannel.EMAIL_PREFERRED,
        "recipients": [RecipientData(national_identity_number=RESERVED_NIN)],
        "email_template": EmailTemplateData(subject="S", body="B"),
        "sms_template": SmsTemplateData(body="Hei"),
    },
    "one organization": {
        "notification_channel": NotificationChannel.EMAIL,
        "recipients": [RecipientData(organization_number=ORGNO)],
        "email_template": EmailTemplateData(subject="S", body="B"),
    },
    "one recipient with every address and awkward text": {
        "notification_channel": NotificationChannel.EMAIL_AND_SMS,
        "recipients": [
            RecipientData(
                email_address="tab\there 'quoted'\\@x.no",
                mobile_number="{NULL}",
                external_identity="urn:altinn:person:idporten-email:c@example.no",
            )
        ],
        "email_template": EmailTemplateData(subject="S", body="B"),
        "sms_template": SmsTemplateData(body="Hei"),
        "senders_reference": 'ref, "quoted"',
    },
    "sms with 99 recipients": {
        "notification_channel": NotificationChannel.SMS_PREFERRED,
        "recipients": [
            RecipientData(mobile_number=f"+47{90000000 + i}", email_address=f"r{i}@example.no")
            for i in range(ONE_STATEMENT_MAX_RECIPIENTS - 1)
        ],
        "sms_template": SmsTemplateData(body="x" * 400),
    },
}


@pytest.fixture(autouse=True)
def _registry() -> None:
    Person.objects.create(national_identity_number=NIN, name="Ola", mobile_number="+4799999999")
    Person.objects.create(national_identity_number=RESERVED_NIN, reserved=True, email_address="r@x.no")
    organization = Organization.objects.create(organization_number=ORGNO, name="Org")
    OrganizationContact.objects.create(organization=organization, kind="email", address="org@x.no")


def _claim(creator: str) -> IdempotencyClaim:
    key = IdempotencyKey.objects.create(
        creator=creator,
        key=f"key-{uuid.uuid4()}",
        request_hash="h",
        created_at=timezone.now(),
        claimed_at=timezone.now(),
    )
    return IdempotencyClaim(id=key.id, token=key.token)


def _orm_create(creator: str, idempotency: IdempotencyClaim | None, **shape: Any) -> uuid.UUID:
    """``order_create``'s write as it was before the one statement: ORM INSERTs and COPY in a transaction."""
    now = timezone.now()
    lookup = recipient_lookup_summarise(
        channel=shape["notification_channel"], recipients=shape["recipients"], registry=get_registry()
    )
    warnings = order_warnings(
        recipients=shape["recipients"],
        lookup=lookup,
        sms_template=shape.get("sms_template"),
        email_template=shape.get("email_template"),
        paths=TemplatePaths(),
    )
    fields = {**shape, "requested_send_time": shape.get("requested_send_time") or now}
    with transaction.atomic():
        order = order_insert(creator=creator, now=now, lookup=lookup, **fields)
        receipt = OrderReceipt(order=order, recipient_lookup=lookup, warnings=warnings)
        if idempotency is not None:
            body = receipt_body(
                order_id=order.id, lookup=lookup, sms_parts=receipt.sms_part_count, warnings=warnings
            )
            idempotency_complete(claim=idempotency, order=order, status=202, body=body)
    return order.id


def _rows(order_id: uuid.UUID) -> dict[str, Any]:
    """Every stored column of the order and its rows, its own ids replaced by placeholders."""
    order = Order.objects.filter(id=order_id).values().get()
    email = EmailTemplate.objects.filter(id=order.pop("email_template_id")).values().first()
    sms = SmsTemplate.objects.filter(id=order.pop("sms_template_id")).values().first()
    for template in (email, sms):
        if template is not None:
            template.pop("id")
    order.pop("id")
    recipients = list(Recipient.objects.filter(order_id=order_id).order_by("position").values())
    for recipient in recipients:
        assert recipient.pop("id") is not None
        assert recipient.pop("order_id") == order_id
    keys = list(IdempotencyKey.objects.filter(order_id=order_id).values())
    for key in keys:
        for column in ("id", "key", "token", "order_id"):
            key.pop(column)
        assert key["response_body"]["orderId"] == str(order_id)
        key["response_body"]["orderId"] = "<order id>"
    return {"order": order, "email": email, "sms": sms, "recipients": recipients, "keys": keys}


@pytest.mark.parametrize("idempotent", [False, True], ids=["plain", "idempotency key"])
@pytest.mark.parametrize("shape", list(SHAPES), ids=list(SHAPES))
@time_machine.travel("2030-01-15 08:00:00.123456+00:00", tick=False)
def test_one_statement_stores_exactly_the_rows_of_the_orm_path(shape: str, idempotent: bool) -> None:
    # The same creator for both: the stored column is compared too.
    by_orm = _orm_create("ttd", _claim("ttd") if idempotent else None, **SHAPES[shape])
    receipt = order_create(creator="ttd", idempotency=_claim("ttd") if idempotent else None, **SHAPES[shape])

    orm_rows, statement_rows = _rows(by_orm), _rows(receipt.order.id)
    assert statement_rows == orm_rows
    assert len(statement_rows["recipients"]) == len(SHAPES[shape]["recipients"])
    assert len(statement_rows["keys"]) == (1 if idempotent else 0)
    # The returned order is the stored one, usable as a saved instance.
    stored = Order.objects.get(id=receipt.order.id)
    assert receipt.order.created_at == stored.created_at
    assert receipt.order._state.adding is False
    assert receipt.order.email_template_id == stored.email_template_id
    assert receipt.order.sms_template_id == stored.sms_template_id


@pytest.mark.django_db(transaction=True)
@time_machine.travel("2030-01-15 08:00:00.123456+00:00", tick=False)
def test_the_prepared_statement_reused_on_the_connection_stores_the_same_rows() -> None:
    # Every shape three times on one connection, in autocommit: the first run prepares each shape's
    # statement, the later ones reuse it; every order's rows equal the ORM path's.
    for shape in SHAPES:
        for idempotent in (False, True):
            by_orm = _rows(_orm_create("ttd", _claim("ttd") if idempotent else None, **SHAPES[shape]))
            for _ in range(3):
                claim = _claim("ttd") if idempotent else None
                receipt = order_create(creator="ttd", idempotency=claim, **SHAPES[shape])
                assert _rows(receipt.order.id) == by_orm, (shape, idempotent)


def _django_values(instance: Any) -> list[Any]:
    """What the ORM's INSERT writes for ``instance``: every field's ``pre_save`` and ``get_db_prep_save``."""
    fields, _ = _insert_fields(type(instance))
    return [
        field.get_db_prep_save(field.pre_save(instance, add=True), connection=connection) for field in fields
    ]


def _comparable(values: list[Any]) -> list[tuple[type, Any]]:
    # The JSON adapter has no equality of its own: compare what it wraps, and every value's type.
    return [(type(value), getattr(value, "obj", value)) for value in values]


@pytest.mark.parametrize("shape", list(SHAPES), ids=list(SHAPES))
@time_machine.travel("2030-01-15 08:00:00.123456+00:00", tick=False)
def test_row_values_are_the_values_the_orm_writes(shape: str) -> None:
    fields = {name: value for name, value in SHAPES[shape].items() if name != "recipients"}
    fields.setdefault("requested_send_time", timezone.now())
    order = order_row(creator="ttd", now=timezone.now(), lookup=None, **fields)
    for instance in (order, order.email_template, order.sms_template):
        if instance is not None:
            assert _comparable(_row_values(instance)) == _comparable(_django_values(instance))


@time_machine.travel("2030-01-15 08:00:00.123456+00:00", tick=False)
def test_row_values_of_other_types_take_the_fields_own_conversions() -> None:
    # Values a field does not store as they are (a number in a text field, an id as text, a lazy
    # string, 1 for true) are converted by the field, as the ORM converts them.
    order = order_row(
        creator="ttd",
        notification_channel=NotificationChannel.SMS,
        requested_send_time=timezone.now(),
        now=timezone.now(),
        lookup=None,
        sms_template=SmsTemplateData(body="Hei"),
    )
    order.creator = 123  # type: ignore[assignment]
    order.senders_reference = gettext_lazy("ref")  # type: ignore[assignment]
    order.sms_template_id = str(order.sms_template_id)  # type: ignore[assignment]
    order.ignore_reservation = 1  # type: ignore[assignment]

    values = _row_values(order)
    assert _comparable(values) == _comparable(_django_values(order))
    assert {type(value) for value in values} >= {uuid.UUID, bool}
    assert "123" in values
    assert "ref" in values


def test_reservations_and_lookup_reach_the_rows() -> None:
    shape = SHAPES["both channels, persons, organizations, several recipients"]
    receipt = order_create(creator="ttd", **shape)

    reserved = list(
        Recipient.objects.filter(order_id=receipt.order.id).order_by("position").values_list("is_reserved")
    )
    assert reserved[:4] == [(False,), (True,), (None,), (None,)]
    assert Order.objects.get(id=receipt.order.id).recipient_lookup == {
        "status": "PartialSuccess",
        "isReserved": [RESERVED_NIN],
        "missingContact": [UNKNOWN_NIN],
    }


def _counts() -> tuple[int, int, int, int]:
    return (
        Order.objects.count(),
        Recipient.objects.count(),
        SmsTemplate.objects.count(),
        EmailTemplate.objects.count(),
    )


def test_a_key_taken_over_meanwhile_writes_nothing_and_answers_as_before() -> None:
    claim = _claim("ttd")
    # A retry took the key over (a new token) while this request was slow.
    IdempotencyKey.objects.filter(id=claim.id).update(token=uuid.uuid4())
    before = _counts()

    with pytest.raises(IdempotencyKeyInFlight) as statement_error:
        order_create(
            creator="ttd",
            idempotency=claim,
            **SHAPES["both channels, persons, organizations, several recipients"],
        )
    assert _counts() == before
    with pytest.raises(IdempotencyKeyInFlight) as orm_error:
        _orm_create("ttd", claim, **SHAPES["sms"])
    assert _counts() == before
    assert str(statement_error.value) == str(orm_error.value)
    assert IdempotencyKey.objects.get(id=claim.id).state == IdempotencyKey.State.IN_FLIGHT


def test_a_row_the_database_refuses_leaves_no_partial_rows_and_raises_as_before() -> None:
    # The sender column holds 32 characters (the API refuses longer ones before this point).
    shape = {**SHAPES["both channels, persons, organizations, several recipients"]}
    shape["sms_template"] = SmsTemplateData(body="Hi", sender_number="x" * 33)
    before = _counts()

    with pytest.raises(DataError) as statement_error:
        order_create(creator="ttd", **shape)
    assert _counts() == before
    with pytest.raises(DataError) as orm_error:
        _orm_create("ttd", None, **shape)
    assert _counts() == before
    assert type(statement_error.value.__cause__) is type(orm_error.value.__cause__)


def test_a_recipient_the_database_refuses_leaves_no_order() -> None:
    shape = {
        **SHAPES["sms"],
        "recipients": [RecipientData(mobile_number="+4799999999"), RecipientData(mobile_number="9" * 33)],
    }
    before = _counts()

    with pytest.raises(DataError):
        order_create(creator="ttd", **shape)
    assert _counts() == before


@pytest.mark.django_db(transaction=True)
def test_a_small_order_outside_a_transaction_is_one_round_trip() -> None:
    statements: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append(sql)
        return execute(sql, params, many, context)

    # The statement is prepared (its parameters travel apart), so the query log has no text for it.
    with connection.execute_wrapper(record):
        receipt = order_create(
            creator="ttd",
            requested_send_time=timezone.now() + timedelta(hours=1),
            **{k: v for k, v in SHAPES["sms"].items()},
        )
    assert len(statements) == 1, [sql[:80] for sql in statements]
    assert statements[0].startswith("WITH ")
    # One recipient travels as plain parameters, not as arrays to unnest.
    assert "unnest" not in statements[0]
    assert Recipient.objects.filter(order_id=receipt.order.id).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_large_order_keeps_the_transaction_and_copy() -> None:
    recipients = [
        RecipientData(mobile_number=f"+47{90000000 + i}") for i in range(ONE_STATEMENT_MAX_RECIPIENTS)
    ]
    with CaptureQueriesContext(connection) as queries:
        receipt = order_create(
            creator="ttd",
            notification_channel=NotificationChannel.SMS,
            recipients=recipients,
            requested_send_time=timezone.now() + timedelta(hours=1),
            sms_template=SmsTemplateData(body="Hi"),
        )
    assert not any(q["sql"].startswith("WITH ") for q in queries)
    assert list(
        Recipient.objects.filter(order_id=receipt.order.id).order_by("position").values_list("mobile_number")
    ) == [(r.mobile_number,) for r in recipients]
