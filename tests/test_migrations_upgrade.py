"""Upgrading a database of the previous schema keeps every row and every value; migrations reverse.

The previous schema is each app before ``orders/0002_notification_send_claim`` (the state release 0.1.0
can be upgraded from). The upgrade test builds it, fills every table of our apps through the historical
models (every status of every status column: ``ROWS`` gives the row counts, the values follow from each
column's type and choices), migrates to the newest schema, and compares each table's rows before and
after. Columns added by later migrations must hold the default declared in ``ADDED_COLUMNS``. A model
added later must be populated here too: ``test_every_model_is_populated_by_the_upgrade_test`` fails until
it is (a model newer than ``PREVIOUS`` needs ``PREVIOUS`` moved to a schema that has it, or, while
``PREVIOUS`` is the release being upgraded from, a place in ``ADDED_MODELS``: its table must appear empty
with the upgrade and go again with the reverse).

The database is built with django-test-migrations' ``migrator`` (a well-kept library: it builds the
database at a given migration on a clean schema, runs non-atomic migrations such as the concurrent index
builds outside a transaction, and migrates the test database back to the newest schema afterwards, so the
tests after these see it as before). Each test builds the database at most once. The plugin marks the tests
that use it ``migration_test``: they run in the normal suite, and ``-m "not migration_test"`` leaves them
out of a quick run.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.apps import apps as current_apps
from django.apps.registry import Apps
from django.db import connection, models
from django.db.migrations.loader import MigrationLoader

# Our apps, and the migration of each that the previous schema ends with.
PREVIOUS = [
    ("notification_templates", "0001_initial"),
    ("orders", "0001_initial"),
    ("dispatch", "0001_initial"),
]
OUR_APPS = frozenset(app for app, _ in PREVIOUS)

# Every model that gets rows, in insert order (foreign keys point at models above), with its least number
# of rows. Models with choice columns get at least one row per choice of each (every status is covered).
ROWS: dict[str, int] = {
    "auth.user": 1,  # the actor of the audit entries
    # One template of each kind per order (the orders' one-to-one links).
    "notification_templates.emailtemplate": 6,
    "notification_templates.smstemplate": 6,
    "orders.orderchain": 1,
    "orders.order": 1,
    "orders.statusfeedentry": 1,
    "orders.recipient": 2,
    "orders.emailnotification": 1,
    "orders.smsnotification": 1,
    "orders.idempotencykey": 1,
    "orders.person": 2,
    "orders.organization": 2,
    "orders.organizationcontact": 1,
    "orders.auditentry": 1,
    "dispatch.deliveryattempt": 1,
    "dispatch.deliveryreport": 1,
    "dispatch.providerpause": 1,
    "dispatch.sandboxmessage": 1,
    "dispatch.callbackdelivery": 1,
    "dispatch.callbackattempt": 2,
    "dispatch.callbacksecret": 2,
    "dispatch.providerhealth": 1,
    "dispatch.providerhealthevent": 1,
    "dispatch.metriccounter": 2,
}

# Columns that migrations after PREVIOUS add to existing tables, with the value an upgraded row must hold.
ADDED_COLUMNS: dict[str, dict[str, Any]] = {
    # orders/0002: a send claim and its lease; none for rows written before it (the stuck-send sweep
    # still finds a Sending row by claimed_at).
    # orders/0003: the recipients a deduplicated notification serves; a recipient's external identity.
    "orders_emailnotification": {"claim_id": None, "lease_until": None, "served_positions": None},
    "orders_smsnotification": {"claim_id": None, "lease_until": None, "served_positions": None},
    "orders_recipient": {"external_identity": None},
    # orders/0004: a chain registered before it had no dialogportenAssociation kept.
    "orders_orderchain": {"dialog_id": None, "transmission_id": None},
    # orders/0008: the person a contact point belongs to; none for the organizations' own addresses.
    "orders_organizationcontact": {"national_identity_number": None, "user_id": None},
    # notification_templates/0002: the stored template version a text was rendered from; none before it.
    "notification_templates_emailtemplate": {"stored_version_id": None},
    "notification_templates_smstemplate": {"stored_version_id": None},
}

# Models that migrations after PREVIOUS create (their tables start empty).
ADDED_MODELS = {
    "orders.selfidentifieduser",  # orders/0003_external_identity_served_positions
    "orders.emailattachment",  # orders/0007_composed_email
    "orders.resourceright",  # orders/0008_resource_authorization
    "notification_templates.storedtemplate",  # notification_templates/0002_stored_templates
    "notification_templates.storedtemplateversion",
}

# Columns whose values must be E.164 mobile numbers (check constraints), besides any "mobile_number".
E164_COLUMNS = {("orders.organizationcontact", "address")}

BASE_TIME = dt.datetime(2026, 11, 30, 8, 15, 30, 123456, tzinfo=dt.UTC)


def _choices(field: models.Field[Any, Any]) -> list[Any]:
    return [value for value, _ in field.flatchoices] if field.choices else []


def _row_count(model: type[models.Model]) -> int:
    counts = [len(_choices(f)) for f in model._meta.concrete_fields]
    return max([ROWS[model._meta.label_lower], *counts])


def _value(
    label: str, field: models.Field[Any, Any], i: int, serial: int, created: dict[str, list[Any]]
) -> Any:
    """A value for row ``i`` of ``label``: distinct per row (``serial``), valid for the column's constraints,
    and non-null wherever the column allows a value, so that every column's survival is checked."""
    if isinstance(field, models.ForeignKey):  # and OneToOneField
        targets = created[field.remote_field.model._meta.label_lower]
        if isinstance(field, models.OneToOneField):
            return targets[i] if i < len(targets) else None
        return targets[i % len(targets)]
    choices = _choices(field)
    if choices:
        return choices[i % len(choices)]
    if isinstance(field, models.UUIDField):
        return uuid.UUID(int=serial)
    if isinstance(field, models.DateTimeField):
        return BASE_TIME + dt.timedelta(minutes=serial, microseconds=serial)
    if isinstance(field, models.BooleanField):
        return i % 2 == 0
    if isinstance(field, models.FloatField):
        return serial + 0.25
    if isinstance(field, models.IntegerField):  # every size, signed or not
        return serial
    if isinstance(field, models.JSONField):
        return {"row": serial, "field": field.name, "text": "blåbær ✓", "list": [1, 2.5, None, True]}
    if isinstance(field, models.EmailField):
        return f"row{serial}@example.org"
    if isinstance(field, models.URLField):
        return f"https://receiver.example.org/{field.name}/{serial}"
    if isinstance(field, models.CharField):
        if "mobile_number" in field.name or (label, field.name) in E164_COLUMNS:
            return f"+479{serial:07d}"
        if field.max_length is not None and field.max_length <= 12:  # identifiers: NINs, org numbers
            return str(serial).zfill(field.max_length)[-field.max_length :]
        return f"{field.name}-{serial}"[: field.max_length]
    if isinstance(field, models.TextField):
        return f"{field.name} {serial}: blåbær ✓"
    raise AssertionError(f"{label}.{field.name}: no test value for {type(field).__name__}; add one")


def _populate(state_apps: Apps) -> None:
    created: dict[str, list[Any]] = {}
    serial = 0
    for label in ROWS:
        model = state_apps.get_model(label)
        created[label] = []
        for i in range(_row_count(model)):
            values = {}
            for field in model._meta.concrete_fields:
                if isinstance(field, models.AutoField):
                    continue
                serial += 1
                values[field.attname if not field.is_relation else field.name] = _value(
                    label, field, i, serial, created
                )
            created[label].append(model.objects.create(**values))


def _tables(app_registry: Apps) -> dict[str, str]:
    """Table → primary key column of every model of our apps."""
    return {
        m._meta.db_table: m._meta.pk.column
        for m in app_registry.get_models()
        if m._meta.app_label in OUR_APPS and m._meta.managed
    }


def _dump(tables: dict[str, str]) -> dict[str, dict[Any, dict[str, Any]]]:
    dump: dict[str, dict[Any, dict[str, Any]]] = {}
    with connection.cursor() as cursor:
        for table, pk in tables.items():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            names = [column.name for column in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            dump[table] = {row[pk]: row for row in rows}
    return dump


def _head() -> list[tuple[str, str]]:
    return list(MigrationLoader(connection, ignore_no_migrations=True).graph.leaf_nodes())


def test_every_model_is_populated_by_the_upgrade_test() -> None:
    ours = {m._meta.label_lower for app in OUR_APPS for m in current_apps.get_app_config(app).get_models()}
    populated = {label for label in ROWS if label.split(".")[0] in OUR_APPS} | ADDED_MODELS
    assert ours - populated == set(), "add these models to ROWS in tests/test_migrations_upgrade.py"
    assert populated - ours == set(), "these models are gone: remove them from ROWS"


def test_upgrade_from_the_previous_schema_keeps_every_row_and_value(migrator) -> None:
    migrator.apply_initial_migration(PREVIOUS)
    # The library's "broad" plan also applies later migrations that sort before the last target (here
    # notification_templates/0002, before orders/0001): migrating to PREVIOUS unapplies them again.
    old_state = migrator.apply_tested_migration(PREVIOUS)
    _populate(old_state.apps)
    tables = _tables(old_state.apps)
    before = _dump(tables)
    # The data covers what the brief of this test promises: rows in every table, every status.
    assert all(before[table] for table in tables), [t for t in tables if not before[t]]
    for label in ("orders.order", "orders.emailnotification", "orders.smsnotification"):
        model = old_state.apps.get_model(label)
        statuses = {row["status"] for row in before[model._meta.db_table].values()}
        assert statuses == set(_choices(model._meta.get_field("status")))
    chain_types: dict[Any, set[str]] = {}
    for row in before["orders_order"].values():
        chain_types.setdefault(row["chain_id"], set()).add(row["type"])
    assert any({"Notification", "Reminder"} <= types for types in chain_types.values())

    migrator.apply_tested_migration(_head())
    after = _dump(tables)
    added_tables = {current_apps.get_model(label)._meta.db_table for label in ADDED_MODELS}
    assert tables.keys().isdisjoint(added_tables)
    assert _dump({table: "id" for table in added_tables}) == {table: {} for table in added_tables}

    for table, rows in before.items():
        assert after[table].keys() == rows.keys(), f"{table}: rows lost or added by the upgrade"
        added = ADDED_COLUMNS.get(table, {})
        for pk, row in rows.items():
            upgraded = after[table][pk]
            assert set(row) - set(upgraded) == set(), f"{table}: columns dropped"
            assert set(upgraded) - set(row) == set(added), f"{table}: declare added columns in ADDED_COLUMNS"
            assert {column: upgraded[column] for column in row} == row, f"{table} row {pk} changed"
            assert {column: upgraded[column] for column in added} == added, f"{table} row {pk}: defaults"

    # And back: reversing the later migrations gives the previous rows back exactly.
    migrator.apply_tested_migration(PREVIOUS)
    assert _dump(tables) == before
    assert added_tables.isdisjoint(connection.introspection.table_names())


def _schema(tables: list[str]) -> dict[str, Any]:
    """Columns and constraints of the tables that exist (a table a later migration adds is absent before)."""
    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
        return {
            table: (
                [
                    (c.name, c.type_code, c.null_ok, c.default)
                    for c in connection.introspection.get_table_description(cursor, table)
                ],
                connection.introspection.get_constraints(cursor, table),
            )
            for table in tables
            if table in existing
        }


def test_later_migrations_reverse_and_apply_again(migrator) -> None:
    """Head → previous → head on the test database as it stands (no rebuild): every migration after the
    previous schema has a working reverse, and applying it again gives the same schema."""
    loader = MigrationLoader(connection)
    kept = {key for node in PREVIOUS for key in loader.graph.forwards_plan(node)}
    later = {key for key in loader.graph.nodes if key[0] in OUR_APPS and key not in kept}
    assert later, "no migration after the previous schema: nothing to reverse"
    tables = list(_tables(current_apps))
    schema = _schema(tables)

    migrator.apply_tested_migration(PREVIOUS)
    assert later.isdisjoint(MigrationLoader(connection).applied_migrations)
    assert _schema(tables) != schema  # the reverses did undo something

    migrator.apply_tested_migration(_head())
    assert later <= set(MigrationLoader(connection).applied_migrations)
    assert _schema(tables) == schema
