"""The database backend skips the per-request ``SELECT 1`` of a connection that just worked, and still
recovers from a connection PostgreSQL dropped."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import OperationalError, connection, connections
from rest_framework.test import APIClient

from core.postgresql.base import DatabaseWrapper

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def other() -> Iterator[psycopg.Connection[Any]]:
    """A second connection, to watch and to terminate ours."""
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as conn:
        yield conn


def _last_query(other: psycopg.Connection[Any], pid: int) -> str:
    row = other.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
    assert row is not None
    return str(row[0])


def _terminate(other: psycopg.Connection[Any], pid: int) -> None:
    """Drop our connection from the server's side, as a PostgreSQL restart does, and wait until it is gone."""
    other.execute("SELECT pg_terminate_backend(%s)", [pid])
    for _ in range(500):
        if other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone() is None:
            return
        time.sleep(0.01)
    raise AssertionError("the backend did not exit")


def _request_boundary() -> None:
    """What Django does between two requests, and at the first query of the next one."""
    connection.close_if_unusable_or_obsolete()
    connection.close_if_health_check_failed()


def _pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), 'marker'")
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def test_the_service_uses_the_backend_with_health_checks_on() -> None:
    connection.ensure_connection()
    assert isinstance(connections["default"], DatabaseWrapper)
    assert connection.health_check_enabled
    assert connection.health_check_after == 5.0


def test_a_connection_that_just_worked_is_not_asked_select_1(other: psycopg.Connection[Any]) -> None:
    pid = _pid()
    _request_boundary()
    assert "'marker'" in _last_query(other, pid)
    assert connection.health_check_done


def test_after_the_window_the_connection_is_checked_as_django_does(other: psycopg.Connection[Any]) -> None:
    backend = connections["default"]
    assert isinstance(backend, DatabaseWrapper)
    backend.health_check_after = 0.0
    try:
        pid = _pid()
        _request_boundary()
        assert _last_query(other, pid) == "SELECT 1"
    finally:
        backend.health_check_after = 5.0


def test_a_dropped_connection_fails_one_request_with_503_then_recovers(
    other: psycopg.Connection[Any], api_client: APIClient
) -> None:
    pid = _pid()
    connection.close_if_unusable_or_obsolete()  # the request that used it ended well
    _terminate(other, pid)
    path = "/notifications/api/v1/orders/00000000-0000-0000-0000-000000000000/status"

    first = api_client.get(path)
    assert first.status_code == 503
    assert first.json()["status"] == 503
    # Django's test client leaves out the end-of-request handling a server runs: run it here.
    connection.close_if_unusable_or_obsolete()
    assert connection.connection is None
    second = api_client.get(path)
    assert second.status_code == 404
    assert _pid() != pid


def test_a_connection_psycopg_saw_break_is_replaced_without_a_round_trip(
    other: psycopg.Connection[Any],
) -> None:
    pid = _pid()
    _terminate(other, pid)
    with pytest.raises(OperationalError):
        _pid()
    assert connection.connection is not None
    assert connection.connection.broken
    connection.health_check_done = False  # as at the start of the next request
    connection.close_if_health_check_failed()
    assert connection.connection is None
    assert _pid() != pid
