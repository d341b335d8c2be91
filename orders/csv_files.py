"""Reading the CSV files the import commands take (contacts, rights): one header, then rows.

Both imports report a bad row by the line it starts on (a quoted field may span lines), skip blank lines,
accept the columns in any order and any case, and refuse the whole file when its header is wrong.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from django.core.management.base import CommandError

T = TypeVar("T")


@dataclass(frozen=True)
class CsvRow:
    """One non-blank row: its values by (lower-case) column, or ``problem`` when it has the wrong number
    of fields (then ``values`` is empty)."""

    line: int
    values: dict[str, str]
    problem: str = ""


def csv_rows(
    lines: Iterable[str],
    *,
    columns: Iterable[str],
    optional: Iterable[str] = (),
    file_error: type[ValueError] = ValueError,
) -> Iterator[CsvRow]:
    """The rows of a CSV file whose header names ``columns`` and maybe some of ``optional``.

    Raises ``file_error`` at once when the file is empty or its header is wrong; nothing is read further.
    """
    columns, optional = tuple(columns), tuple(optional)
    reader = csv.reader(lines)
    try:
        header = [column.strip().lower() for column in next(reader)]
    except StopIteration:
        raise file_error(f"The file is empty; expected the header {','.join(columns)}.") from None
    given = [column for column in header if column not in optional]
    if sorted(given) != sorted(columns) or len(header) != len(set(header)):
        also = f" (and optionally {','.join(optional)})" if optional else ""
        found = ",".join(header) or "empty"
        raise file_error(f"The header must name the columns {','.join(columns)}{also}; it is {found}.")

    def rows() -> Iterator[CsvRow]:
        # line_num counts the physical lines read so far: the next record starts on the one after.
        start = reader.line_num + 1
        for record in reader:
            line, start = start, reader.line_num + 1
            if not any(value.strip() for value in record):
                continue  # blank lines are allowed anywhere
            if len(record) != len(header):
                yield CsvRow(line, {}, f"expected {len(header)} columns, found {len(record)}")
            else:
                yield CsvRow(line, dict(zip(header, record, strict=True)))

    return rows()


def csv_file_read(path: str, read: Callable[[Iterable[str]], T], *, file_error: type[ValueError]) -> T:
    """``read`` the lines of the file at ``path`` (``-``: standard input) for a management command.

    A file that cannot be opened, is not UTF-8 or whose header is wrong (``file_error``) becomes a
    ``CommandError`` that says so. A UTF-8 byte-order mark is skipped: spreadsheets often write one.
    """
    try:
        if path == "-":
            return read(sys.stdin)
        with open(path, newline="", encoding="utf-8-sig") as file:
            return read(file)
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise CommandError(f"{path} is not UTF-8 text (byte {exc.start}).") from exc
    except file_error as exc:
        raise CommandError(str(exc)) from exc
