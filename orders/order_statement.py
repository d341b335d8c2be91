"""An order with its templates and few recipients written in ONE SQL statement: one round trip, no BEGIN.

The ORM path (``orders.services.order_insert`` in ``transaction.atomic``) costs six round trips for a
one-recipient order: BEGIN, an INSERT per template, the order's INSERT, a COPY and COMMIT. Here the rows
are built exactly as the ORM builds them (unsaved model instances, every field's ``pre_save`` and
``get_db_prep_save`` unless the field stores the value unchanged, so defaults, ``auto_now`` timestamps and
JSON are the ORM's own) and written by
data-modifying CTEs of one statement, which PostgreSQL runs atomically in autocommit mode. Ids are made in
Python (UUIDs), so nothing needs to be read back.

With an idempotency claim, the statement also marks the key done, and every INSERT hangs off that UPDATE:
when the key was taken over meanwhile, the UPDATE matches nothing and nothing at all is inserted.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from typing import Any

from django.db import connection, models, transaction

from core.postgresql.prepared import prepared_cursor
from orders.models import IdempotencyKey, Order, Recipient
from templates.models import EmailTemplate, SmsTemplate

# Up to this many recipients an order is written in one statement; a larger one keeps COPY (its array
# parameters would grow the statement's text without bound).
ONE_STATEMENT_MAX_RECIPIENTS = 100

_RECIPIENT_ARRAYS = (
    ("position", "integer[]"),
    ("email_address", "varchar[]"),
    ("mobile_number", "varchar[]"),
    ("organization_number", "varchar[]"),
    ("national_identity_number", "varchar[]"),
    ("external_identity", "varchar[]"),
    ("is_reserved", "boolean[]"),
)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


@functools.cache
def _insert_fields(model: type[models.Model]) -> tuple[tuple[models.Field[Any, Any], ...], str]:
    """The fields the ORM's INSERT of a ``model`` row writes (auto fields left out), and their columns.

    Computed once per process: the model's fields never change while it runs.
    """
    fields = tuple(
        field
        for field in model._meta.concrete_fields
        # BigAutoField subclasses AutoField.
        if not (field.generated or isinstance(field, models.AutoField))
    )
    return fields, ", ".join(_q(field.column) for field in fields)


# Field classes whose ``pre_save`` (the attribute as it is) and ``get_db_prep_save`` hand a value of these
# types, or None, to PostgreSQL unchanged: Django's own methods of exactly these classes (a subclass may
# convert, so only the exact class counts). Everything else (auto_now timestamps, JSON, integers, which
# Django wraps in a sized type) takes the full path.
_PASS_THROUGH: dict[type[models.Field[Any, Any]], tuple[type, ...]] = {
    models.CharField: (str,),
    models.TextField: (str,),
    models.URLField: (str,),
    models.UUIDField: (uuid.UUID,),
    models.BooleanField: (bool,),
}


def _pass_through(field: models.Field[Any, Any]) -> tuple[type, ...] | None:
    """The value types ``field`` stores unchanged, or None when its values take Django's full path."""
    if type(field) in (models.ForeignKey, models.OneToOneField):
        # A relation stores its target's value: None as is, anything else as the target field does.
        return _PASS_THROUGH.get(type(field.target_field))  # type: ignore[attr-defined]
    return _PASS_THROUGH.get(type(field))


@functools.cache
def _value_plan(
    model: type[models.Model],
) -> tuple[tuple[models.Field[Any, Any], str, tuple[type, ...] | None], ...]:
    """Per inserted field of ``model``: the field, its attribute and the value types it passes through."""
    fields, _ = _insert_fields(model)
    return tuple((field, field.attname, _pass_through(field)) for field in fields)


def _row_values(instance: models.Model) -> list[Any]:
    """The values the ORM's INSERT of ``instance`` would write, in ``_insert_fields`` order.

    A value the field passes through unchanged is taken as it is; any other goes through the field's
    ``pre_save`` and ``get_db_prep_save``, as the ORM's INSERT does (tests/orders compare the rows).
    """
    values: list[Any] = []
    for field, attname, types in _value_plan(type(instance)):
        if types is not None:
            value = getattr(instance, attname)
            if value is None or isinstance(value, types):
                values.append(value)
                continue
        values.append(field.get_db_prep_save(field.pre_save(instance, add=True), connection=connection))
    return values


def _insert_cte(name: str, model: type[models.Model], gate: list[str]) -> str:
    fields, columns = _insert_fields(model)
    source = f" FROM {', '.join(gate)}" if gate else ""
    return (
        f"{name} AS (INSERT INTO {_q(model._meta.db_table)} ({columns}) "
        f"SELECT {', '.join(['%s'] * len(fields))}{source} RETURNING 1)"
    )


@functools.cache
def _statement(*, idempotency: bool, email: bool, sms: bool, single: bool) -> str:
    """The statement's SQL for one shape (with or without a key to mark done, with which templates, for
    one recipient or any number).

    Built once per shape and process: only the parameters differ from one order to the next, so the
    text is the same string every time (and PostgreSQL can keep it prepared, see ``_execute``).
    """
    ctes: list[str] = []
    gate: list[str] = []
    if idempotency:
        table = _q(IdempotencyKey._meta.db_table)
        ctes.append(
            f"k AS (UPDATE {table} SET {_q('state')} = %s, {_q('order_id')} = %s, "
            f"{_q('response_status')} = %s, {_q('response_body')} = %s "
            f"WHERE {_q('id')} = %s AND {_q('token')} = %s AND {_q('state')} = %s RETURNING 1)"
        )
        gate.append("k")
    template_gates: list[str] = []
    for name, model, present in (("et", EmailTemplate, email), ("st", SmsTemplate, sms)):
        if present:
            ctes.append(_insert_cte(name, model, gate))
            template_gates.append(name)
    ctes.append(_insert_cte("o", Order, template_gates or gate))
    recipient_table = _q(Recipient._meta.db_table)
    names = ", ".join(_q(name) for name, _ in _RECIPIENT_ARRAYS)
    if single:
        # The usual order has one recipient: its values as plain parameters, no arrays to build and
        # dump in Python nor to unnest on the server.
        values = ", ".join(["%s"] * len(_RECIPIENT_ARRAYS))
        source = f"SELECT %s, {values} FROM o"
    else:
        arrays = ", ".join(f"%s::{sql_type}" for _, sql_type in _RECIPIENT_ARRAYS)
        source = f"SELECT %s, u.* FROM o, unnest({arrays}) AS u"
    ctes.append(f"r AS (INSERT INTO {recipient_table} ({_q('order_id')}, {names}) {source} RETURNING 1)")
    return f"WITH {', '.join(ctes)} SELECT (SELECT count(*) FROM o)"


def order_statement_insert(
    *,
    order: Order,
    recipient_rows: Sequence[tuple[Any, ...]],
    idempotency: tuple[int, Any, dict[str, Any]] | None = None,
) -> bool:
    """Write ``order`` (unsaved, its templates attached and unsaved) with its recipients in one statement.

    ``recipient_rows`` are (position, email, mobile, organization number, NIN, external identity,
    is_reserved) tuples. ``idempotency`` is (key id, claim token, receipt body): the key is marked done in
    the same statement. Returns False, having written nothing, when the key was no longer this claim's.
    Inside an outer transaction the statement runs in a savepoint, as the ORM path's ``atomic`` does.
    """
    params: list[Any] = []
    if idempotency is not None:
        key_id, token, body = idempotency
        params.extend(
            [
                IdempotencyKey.State.DONE,
                order.id,
                202,
                connection.ops.adapt_json_value(body, None),
                key_id,
                token,
                IdempotencyKey.State.IN_FLIGHT,
            ]
        )
    # Parameters in the statement's order: the key's, the templates', the order's, the recipients'.
    for template in (order.email_template, order.sms_template):
        if template is not None:
            params.extend(_row_values(template))
    params.extend(_row_values(order))
    params.append(order.id)
    single = len(recipient_rows) == 1
    if single:
        params.extend(recipient_rows[0])
    elif recipient_rows:
        params.extend(list(column) for column in zip(*recipient_rows, strict=True))
    else:
        params.extend([] for _ in _RECIPIENT_ARRAYS)
    sql = _statement(
        idempotency=idempotency is not None,
        email=order.email_template is not None,
        sms=order.sms_template is not None,
        single=single,
    )
    if connection.in_atomic_block:
        with transaction.atomic():
            return _execute(sql, params)
    return _execute(sql, params)


def _execute(sql: str, params: list[Any]) -> bool:
    # Prepared on the connection: the same few texts every time, parameters sent apart from the SQL.
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return bool(row and row[0])
