"""Bulk inserts with COPY: rows encoded in PostgreSQL's COPY text format and spooled until one COPY.

Rows are encoded as they are produced and written to a temporary file (memory up to a few MB, then
disk), so the producer's memory stays flat however many rows there are, and the transaction that inserts
them does nothing but stream bytes. COPY is several times faster than INSERTs and needs psycopg's raw
cursor, which Django's cursor wraps.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from datetime import datetime
from typing import IO, Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Model
from django.db.models.fields import Field

# Spooled rows stay in memory up to this size, then go to a temporary file.
SPOOL_MEMORY_BYTES = 8 * 1024 * 1024
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(value: object) -> str:
    """One value in COPY text format."""
    if type(value) is str:  # the common case first: this runs several times per generated row
        return value.translate(_COPY_ESCAPES)
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int | uuid.UUID):
        return str(value)
    if isinstance(value, dict | list):
        value = json.dumps(value)
    return str(value).translate(_COPY_ESCAPES)


def _column_default(model_field: Field[Any, Any], now: datetime) -> object:
    if getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
        return now
    if model_field.has_default():
        return model_field.get_default()
    if model_field.null:
        return None
    raise ImproperlyConfigured(
        f"{model_field.model.__name__}.{model_field.name} has no default: the bulk generator must set it"
    )


def _uuid4_strings(count: int) -> list[str]:
    """``count`` random (version 4) UUIDs as text, from one read of the OS's random source.

    About three times faster than ``str(uuid.uuid4())`` per id, which shows at 100,000 rows.
    """
    raw = bytearray(os.urandom(16 * count))
    for offset in range(0, 16 * count, 16):
        raw[offset + 6] = (raw[offset + 6] & 0x0F) | 0x40  # version 4
        raw[offset + 8] = (raw[offset + 8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-{h[i + 12 : i + 16]}-{h[i + 16 : i + 20]}-{h[i + 20 : i + 32]}"
        for i in range(0, 32 * count, 32)
    ]


class CopySpool:
    """Rows of one model in COPY text format, spooled until :meth:`copy_into` streams them in.

    Every concrete column is written; a column a row does not name gets the model field's default, so a
    field added to the model later is filled without touching this code (or must be named here when it
    has none). Rows are built from encoded templates (:meth:`row`), so values shared by many rows (the
    order, times, texts) are encoded once.
    """

    def __init__(self, model: type[Model], *, now: datetime) -> None:
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        self.table = model._meta.db_table
        self.columns = [f.column for f in fields] + [model._meta.pk.column]
        self.position = {f.attname: index for index, f in enumerate(fields)}
        self._defaults: list[str] = []
        self._unset: set[str] = set()
        for model_field in fields:
            try:
                self._defaults.append(copy_text(_column_default(model_field, now)))
            except ImproperlyConfigured:
                self._defaults.append("")
                self._unset.add(model_field.attname)
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)
        self._lines: list[str] = []
        self._ids: list[str] = []
        self.rows = 0

    def row(self, values: dict[str, object]) -> list[str]:
        """An encoded row template: the defaults with ``values`` (attribute name → Python value) set."""
        if missing := self._unset.difference(values):
            raise ImproperlyConfigured(f"{self.table}: no value for {sorted(missing)}")
        row = self._defaults.copy()
        for name, value in values.items():
            row[self.position[name]] = copy_text(value)
        return row

    def add(self, row: list[str]) -> None:
        """Spool one row (an encoded template from :meth:`row`, possibly changed) with a new id."""
        if not self._ids:
            self._ids = _uuid4_strings(1000)
        self._lines.append("\t".join(row) + "\t" + self._ids.pop())
        self.rows += 1
        if len(self._lines) >= 1000:
            self._flush()

    def _flush(self) -> None:
        if self._lines:
            self._lines.append("")
            self._file.write("\n".join(self._lines).encode())
            self._lines.clear()

    def copy_into(self) -> int:
        """COPY every spooled row into the table on the current connection; returns the row count."""
        self._flush()
        if not self.rows:
            return 0
        self._file.seek(0)
        quote = connection.ops.quote_name
        sql = f"COPY {quote(self.table)} ({', '.join(quote(c) for c in self.columns)}) FROM STDIN"
        # Django's cursor wraps psycopg's; COPY is only on the raw one.
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            while block := self._file.read(1024 * 1024):
                copy.write(block)
        return self.rows

    def close(self) -> None:
        self._file.close()
