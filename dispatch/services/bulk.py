"""Bulk inserts with COPY: rows encoded in PostgreSQL's COPY text format and spooled until one COPY.

Rows are encoded as they are produced and written to a temporary file (memory up to a few MB, then
disk), so the producer's memory stays flat however many rows there are, and the transaction that inserts
them does nothing but stream bytes. COPY is several times faster than INSERTs and needs psycopg's raw
cursor, which Django's cursor wraps.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Model
from django.db.models.fields import Field

# Spooled rows stay in memory up to this size, then go to a temporary file.
SPOOL_MEMORY_BYTES = 8 * 1024 * 1024
# Spooled rows are read back and streamed to COPY in blocks of this size.
COPY_BLOCK_BYTES = 1024 * 1024
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
# Most values have none of those characters; finding that out is several times cheaper than translate.
_COPY_SPECIAL = re.compile(r"[\\\t\n\r]").search


def copy_text(value: object) -> str:
    """One value in COPY text format."""
    if type(value) is str:  # the common case first: this runs several times per generated row
        return value if _COPY_SPECIAL(value) is None else value.translate(_COPY_ESCAPES)
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

    Written as 32 hex digits without hyphens, a form PostgreSQL's uuid input reads as well: one slice per
    id instead of five, a third of the cost (``str(uuid.uuid4())`` costs nine times as much), which shows
    at 100,000 rows.
    """
    raw = bytearray(os.urandom(16 * count))
    # Every id's bytes 6 and 8 at once (extended slices): a third faster than a loop over the ids.
    raw[6::16] = bytes((byte & 0x0F) | 0x40 for byte in raw[6::16])  # version 4
    raw[8::16] = bytes((byte & 0x3F) | 0x80 for byte in raw[8::16])  # RFC 4122 variant
    h = raw.hex()
    return [h[i : i + 32] for i in range(0, 32 * count, 32)]


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
        self._id_batch = 8
        self.rows = 0

    def row(self, values: dict[str, object]) -> list[str]:
        """An encoded row template: the defaults with ``values`` (attribute name → Python value) set."""
        if missing := self._unset.difference(values):
            raise ImproperlyConfigured(f"{self.table}: no value for {sorted(missing)}")
        row = self._defaults.copy()
        for name, value in values.items():
            row[self.position[name]] = copy_text(value)
        return row

    def add(self, row: list[str]) -> str:
        """Spool one row (an encoded template from :meth:`row`, possibly changed) with a new id; returns
        the id (as text)."""
        return self.add_encoded("\t".join(row) + "\t")

    def add_encoded(self, text: str) -> str:
        """Spool one row given as its COPY text up to its id (every column but the last, each followed by
        a tab) with a new id; returns the id (as text)."""
        if not self._ids:
            # A few ids for a small order, a thousand at a time for a large one (1,000 up front was a
            # tenth of a one-recipient order's processing).
            self._ids = _uuid4_strings(self._id_batch)
            self._id_batch = min(1000, self._id_batch * 8)
        row_id = self._ids.pop()
        self._lines.append(text + row_id)
        self.rows += 1
        if len(self._lines) >= 1000:
            self._flush()
        return row_id

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
        # Django's cursor wraps psycopg's; COPY is only on the raw one.
        with connection.cursor() as cursor, cursor.cursor.copy(self._copy_sql()) as copy:
            while block := self._file.read(COPY_BLOCK_BYTES):
                copy.write(block)
        return self.rows

    def _copy_sql(self) -> str:
        quote = connection.ops.quote_name
        return f"COPY {quote(self.table)} ({', '.join(quote(c) for c in self.columns)}) FROM STDIN"

    def close(self) -> None:
        self._file.close()


class DedupCopySpool(CopySpool):
    """A :class:`CopySpool` that inserts one row per key: rows added with :meth:`add_keyed` that share a
    key are merged into the first of them, which records every position they had in ``served_column``.

    The producer keeps no key in memory: each keyed row also writes a short line (key, row number,
    position, id) to a second spool. At :meth:`copy_into` those lines are COPYed into a temporary table
    and PostgreSQL finds the keys reached more than once (a hash aggregate, which usually finds none).
    The rows are then COPYed as in :class:`CopySpool`, leaving out the later rows of each repeated key
    (their numbers read back in order into a file), and the first row of each repeated key gets its
    positions. Rows added with :meth:`add` are never merged.
    """

    def __init__(self, model: type[Model], *, now: datetime, served_column: str) -> None:
        super().__init__(model, now=now)
        self.served_column = served_column
        self._keys_file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)
        self._key_lines: list[str] = []
        self.keyed = 0
        self.merged = 0  # rows left out by copy_into
        # Temporary tables named for the table, so two spools can copy in one transaction.
        self._keys_table = f"{self.table}_dedup_keys"
        self._repeated_table = f"{self.table}_dedup_repeated"

    def add_keyed(self, row: list[str], key: str, position: int) -> None:
        """Spool a row that is merged with the other rows of ``key`` (``position`` is its recipient's)."""
        self.add_encoded_keyed("\t".join(row) + "\t", key, position)

    def add_encoded_keyed(self, text: str, key: str, position: int) -> None:
        """:meth:`add_keyed` for a row given as its COPY text up to its id (see :meth:`add_encoded`)."""
        number = self.rows
        row_id = self.add_encoded(text)
        self._key_lines.append(f"{copy_text(key)}\t{number}\t{position}\t{row_id}")
        self.keyed += 1
        if len(self._key_lines) >= 1000:
            self._flush_keys()

    def _flush_keys(self) -> None:
        if self._key_lines:
            self._key_lines.append("")
            self._keys_file.write("\n".join(self._key_lines).encode())
            self._key_lines.clear()

    def copy_into(self) -> int:
        """COPY every row but the merged ones and record the merged positions; returns the rows inserted.

        Runs inside the caller's transaction: the temporary tables are dropped before it ends.
        """
        self._flush()
        self._flush_keys()
        if self.keyed < 2:
            return super().copy_into()
        quote = connection.ops.quote_name
        keys, repeated = quote(self._keys_table), quote(self._repeated_table)
        self._keys_file.seek(0)
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {keys} (key text NOT NULL, number integer NOT NULL,"
                " position integer NOT NULL, id uuid NOT NULL) ON COMMIT DROP"
            )
            with cursor.cursor.copy(f"COPY {keys} FROM STDIN") as copy:
                while block := self._keys_file.read(COPY_BLOCK_BYTES):
                    copy.write(block)
            # The inner hash aggregate finds the (usually few) repeated keys; only their rows are sorted.
            # The owner is the first row spooled; the positions come in order, each once.
            cursor.execute(
                f"""
                CREATE TEMPORARY TABLE {repeated} ON COMMIT DROP AS
                  SELECT k.key, min(k.number) AS owner,
                         array_agg(DISTINCT k.position ORDER BY k.position) AS served
                    FROM {keys} k
                   WHERE k.key IN (SELECT key FROM {keys} GROUP BY key HAVING count(*) > 1)
                   GROUP BY k.key
                """
            )
            # CREATE ... AS reports the rows it wrote (its "SELECT n" tag): no count(*) round trip.
            found = cursor.rowcount
        if found > 0:
            inserted = self._copy_merged(keys, repeated)
        else:
            inserted = super().copy_into()
        with connection.cursor() as cursor:
            # ON COMMIT DROP alone would leave them for the next order inside an enclosing transaction.
            cursor.execute(f"DROP TABLE {repeated}, {keys}")
        return inserted

    def _copy_merged(self, keys: str, repeated: str) -> int:
        quote = connection.ops.quote_name
        with tempfile.TemporaryFile() as skipped:
            with connection.cursor() as cursor:
                # Every row of a repeated key but its first, by row number (the order they were spooled).
                with cursor.cursor.copy(
                    f"COPY (SELECT k.number FROM {keys} k JOIN {repeated} r USING (key)"
                    " WHERE k.number <> r.owner ORDER BY k.number) TO STDOUT"
                ) as out:
                    for block in out:
                        skipped.write(block)
            skipped.seek(0)
            self.merged = self._copy_skipping(int(line) for line in skipped)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE {quote(self.table)} AS t SET {quote(self.served_column)} = r.served
                  FROM {repeated} r JOIN {keys} k ON k.number = r.owner
                 WHERE t.{quote(self.columns[-1])} = k.id
                """
            )
        return self.rows - self.merged

    def _copy_skipping(self, skipped: Iterator[int]) -> int:
        """COPY the spooled rows leaving out those numbered in ``skipped`` (ascending); returns how many."""
        self._file.seek(0)
        next_skipped = next(skipped, None)
        number = left_out = 0
        pending = b""
        with connection.cursor() as cursor, cursor.cursor.copy(self._copy_sql()) as copy:
            while block := self._file.read(COPY_BLOCK_BYTES):
                lines = (pending + block).split(b"\n")
                pending = lines.pop()  # a line cut at the block's end (empty at the end of the file)
                kept = []
                for line in lines:
                    if number == next_skipped:
                        next_skipped = next(skipped, None)
                        left_out += 1
                    else:
                        kept.append(line)
                    number += 1
                if kept:
                    kept.append(b"")
                    copy.write(b"\n".join(kept))
        return left_out

    def close(self) -> None:
        super().close()
        self._keys_file.close()
