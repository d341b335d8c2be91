"""Fixtures of the fault tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from fakes.smtp import SmtpFake
from tests.faults.inprocess import TimedSmtp
from tests.faults.support import RedisServer, Service


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


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A private Redis for the test's broker, stopped afterwards whatever happened."""
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpFake]:
    """A local SMTP server recording what it accepts (a thread of this process)."""
    server = SmtpFake().start()
    yield server
    server.stop()


@pytest.fixture
def provider(settings: Any) -> Iterator[TimedSmtp]:
    """The SMTP provider, down until the test starts it."""
    fake = TimedSmtp(slow_seconds=1.0)
    settings.NOTIFICATIONS_EMAIL_PROVIDER = "smtp"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = fake.port
    settings.EMAIL_TIMEOUT = 0.3  # a server slower than this is given up on, and the send retried
    settings.NOTIFICATIONS_PROVIDER_OUTAGE_PAUSE_SECONDS = 15
    settings.NOTIFICATIONS_PROVIDER_THROTTLE_SECONDS = 60
    yield fake
    fake.stop()
