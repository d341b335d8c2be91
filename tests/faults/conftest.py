"""Fixtures of the fault tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from tests.faults.support import Service


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Callable[..., Service]]:
    """Start service processes; every one still running is stopped after the test, before the database
    is flushed (request ``transactional_db`` before this fixture so the order of teardown is right)."""
    started: list[Service] = []

    def make(name: str, command: Sequence[str], env: dict[str, str]) -> Service:
        service = Service(name=name, command=command, env=env, log=tmp_path / f"{name}.log")
        started.append(service)
        return service

    yield make
    for service in started:
        if service.process is not None:
            service.kill()
