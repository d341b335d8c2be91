"""An order with its templates and few recipients written in ONE SQL statement: one round trip, no BEGIN.

The ORM path (``orders.services.order_insert`` in ``transaction.atomic``) costs six round trips for a
one-recipient order: BEGIN, an INSERT per template, the order's INSERT, a COPY and COMMIT. Here the rows
are built exactly as the ORM builds them (unsaved model instances, every field's ``pre_save`` and
``get_db_prep_save``, so defaults, ``auto_now`` timestamps and JSON are the ORM's own) and written by
data-modifying CTEs of one statement, which PostgreSQL runs atomically in autocommit mode. Ids are made in
Python (UUIDs), so nothing needs to be read back.

With an idempotency claim, the statement also marks the key done, and every INSERT hangs off that UPDATE:
when the key was taken over meanwhile, the UPDATE matches nothing and nothing at all is inserted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models, transaction

from orders.models import IdempotencyKey, Order, Recipient

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


def _row_values(instance: models.Model) -> tuple[list[str], list[Any]]:
    """The columns and values the ORM's INSERT of ``instance`` would write (auto fields left out)."""
    columns: list[str] = []
    values: list[Any] = []
    for field in instance._meta.concrete_fields:
        if field.generated or isinstance(field, models.AutoField):  # BigAutoField subclasses AutoField
            continue
        value = field.pre_save(instance, add=True)
        columns.append(_q(field.column))
        values.append(field.get_db_prep_save(value, connection=connection))
    return columns, values


def _insert_cte(name: str, instance: models.Model, gate: list[str], params: list[Any]) -> str:
    columns, values = _row_values(instance)
    params.extend(values)
    source = f" FROM {', '.join(gate)}" if gate else ""
    return (
        f"{name} AS (INSERT INTO {_q(instance._meta.db_table)} ({', '.join(columns)}) "
        f"SELECT {', '.join(['%s'] * len(values))}{source} RETURNING 1)"
    )


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
    ctes: list[str] = []
    gate: list[str] = []
    if idempotency is not None:
        key_id, token, body = idempotency
        table = _q(IdempotencyKey._meta.db_table)
        ctes.append(
            f"k AS (UPDATE {table} SET {_q('state')} = %s, {_q('order_id')} = %s, "
            f"{_q('response_status')} = %s, {_q('response_body')} = %s "
            f"WHERE {_q('id')} = %s AND {_q('token')} = %s AND {_q('state')} = %s RETURNING 1)"
        )
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
        gate.append("k")
    template_gates: list[str] = []
    for name, template in (("et", order.email_template), ("st", order.sms_template)):
        if template is not None:
            ctes.append(_insert_cte(name, template, gate, params))
            template_gates.append(name)
    ctes.append(_insert_cte("o", order, template_gates or gate, params))
    recipient_table = _q(Recipient._meta.db_table)
    names = ", ".join(_q(name) for name, _ in _RECIPIENT_ARRAYS)
    arrays = ", ".join(f"%s::{sql_type}" for _, sql_type in _RECIPIENT_ARRAYS)
    ctes.append(
        f"r AS (INSERT INTO {recipient_table} ({_q('order_id')}, {names}) "
        f"SELECT %s, u.* FROM o, unnest({arrays}) AS u RETURNING 1)"
    )
    params.append(order.id)
    params.extend(list(column) for column in zip(*recipient_rows, strict=True))
    if not recipient_rows:
        params.extend([] for _ in _RECIPIENT_ARRAYS)
    sql = f"WITH {', '.join(ctes)} SELECT (SELECT count(*) FROM o)"
    if connection.in_atomic_block:
        with transaction.atomic():
            return _execute(sql, params)
    return _execute(sql, params)


def _execute(sql: str, params: list[Any]) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return bool(row and row[0])
