"""A Django cursor whose statements PostgreSQL keeps prepared on the connection.

Django binds parameters in Python (quoting each into the SQL text) and never prepares, so PostgreSQL
parses and plans every statement anew. For a hot statement whose text is always the same string, this
cursor sends the parameters apart from the SQL and prepares the statement on its first run: later runs on
the same connection skip the parse and the plan, and Python skips the quoting. A connection pooler in
transaction mode must then keep prepared statements (PgBouncer 1.21+ can) or pool by session.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Self

import psycopg
from django.db import connection
from django.db.backends.utils import CursorWrapper
from psycopg import sql
from psycopg.abc import Params

# A threshold no statement reaches by count: only an explicit prepare=True prepares.
_ONLY_WHEN_ASKED = 2**31 - 1


class _PreparingCursor(psycopg.Cursor[Any]):
    """A cursor binding parameters on the server that prepares every statement it runs."""

    def execute(  # type: ignore[override]  # the t-string overload is never used here
        self,
        query: str | bytes | sql.SQL | sql.Composed,
        params: Params | None = None,
        *,
        prepare: bool | None = None,
        binary: bool | None = None,
    ) -> Self:
        return super().execute(query, params, prepare=True, binary=binary)


@contextmanager
def prepared_cursor() -> Iterator[CursorWrapper]:
    """Django's cursor (its connection checks, error translation and query log) over a preparing one."""
    with connection.cursor() as cursor:
        raw = connection.connection
        if raw.prepare_threshold is None:
            # Django turns psycopg's preparing off (None), which also refuses an explicit prepare=True.
            # Django's own (client-side binding) cursors never prepare, so a threshold no statement
            # reaches by count leaves them as they were and lets this cursor prepare.
            raw.prepare_threshold = _ONLY_WHEN_ASKED
        client_side = cursor.cursor
        cursor.cursor = _PreparingCursor(raw)
        client_side.close()
        yield cursor
