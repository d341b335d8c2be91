"""Drop the foreign key indexes on ``order_id`` that another index of the same table already leads with.

Every recipient and notification row is written to each index of its table, and an order's rows are
written 100,000 at a time: the notification tables had eight indexes to maintain per new row, the
recipient table four. ``order_id`` alone is served as well by the unique (order, position, ...) index of
each table (and by the (order, status) index of the notification tables); PostgreSQL's plans for the
per-order reads, counts, cascades and the completion check use those.

Dropped (and, backwards, built) CONCURRENTLY, so a running service's writes are never blocked; that
cannot run inside a transaction. The indexes are found by their column, whatever name they were given.
"""

import django.db.models.deletion
from django.db import migrations, models

TABLES = ("orders_recipient", "orders_emailnotification", "orders_smsnotification")


def _order_id_indexes(schema_editor, table):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return [
        name
        for name, info in constraints.items()
        if info["index"] and not info["unique"] and not info["primary_key"] and info["columns"] == ["order_id"]
    ]


def drop(apps, schema_editor):
    quote = schema_editor.quote_name
    for table in TABLES:
        for name in _order_id_indexes(schema_editor, table):
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {quote(name)}")


def create(apps, schema_editor):
    quote = schema_editor.quote_name
    for table in TABLES:
        if not _order_id_indexes(schema_editor, table):
            name = schema_editor._create_index_name(table, ["order_id"], suffix="")
            schema_editor.execute(f"CREATE INDEX CONCURRENTLY {quote(name)} ON {quote(table)} (order_id)")


def _no_index(model_name, related_name):
    return migrations.AlterField(
        model_name=model_name,
        name="order",
        field=models.ForeignKey(
            db_index=False,
            on_delete=django.db.models.deletion.CASCADE,
            related_name=related_name,
            to="orders.order",
        ),
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("orders", "0005_audit_support_lookup"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                _no_index("emailnotification", "email_notifications"),
                _no_index("recipient", "recipients"),
                _no_index("smsnotification", "sms_notifications"),
            ],
            database_operations=[migrations.RunPython(drop, create)],
        )
    ]
