"""The HTTP registry goes through the outbound guard: internal addresses only when allowed, answers capped."""

from __future__ import annotations

from typing import Any

import pytest

from orders.registry.base import RegistryUnavailable
from orders.registry.http import HttpRegistry
from tests.orders.registry.test_http import FakeRegister, _person_entry, register

__all__ = ["register"]
NIN = "01010112345"


def test_a_register_on_a_network_that_is_not_allowed_is_refused_before_connecting(
    register: FakeRegister, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS = []  # the production default: loopback is internal
    registry = HttpRegistry(base_url=register.url, timeout_seconds=0.5)

    try:
        with pytest.raises(RegistryUnavailable, match="not allowed"):
            registry.persons([NIN])
    finally:
        registry.close()

    assert register.requests == []
    assert "NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS" in caplog.text


def test_the_operator_allows_the_registers_network(register: FakeRegister, settings: Any) -> None:
    settings.NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    register.persons[NIN] = _person_entry(NIN, email="ola@example.no")
    registry = HttpRegistry(base_url=register.url, timeout_seconds=0.5)

    try:
        assert registry.persons([NIN])[NIN].email_address == "ola@example.no"
    finally:
        registry.close()


def test_answers_larger_than_other_outbound_answers_are_fine_up_to_the_registrys_own_cap(
    register: FakeRegister, settings: Any
) -> None:
    nins = [f"{n:011d}" for n in range(2000)]
    for nin in nins:
        register.persons[nin] = _person_entry(nin, email=f"person{nin}@example.no")
    registry = HttpRegistry(base_url=register.url, timeout_seconds=2)

    try:
        found = registry.persons(nins)
    finally:
        registry.close()

    assert len(found) == 2000  # about 200 KB, over the 64 KB of NOTIFICATIONS_OUTBOUND_MAX_RESPONSE_BYTES
    assert (
        settings.NOTIFICATIONS_REGISTRY_MAX_RESPONSE_BYTES
        > settings.NOTIFICATIONS_OUTBOUND_MAX_RESPONSE_BYTES
    )


def test_an_answer_over_the_registrys_cap_is_a_registry_outage(register: FakeRegister, settings: Any) -> None:
    settings.NOTIFICATIONS_REGISTRY_MAX_RESPONSE_BYTES = 1000
    for n in range(100):
        nin = f"{n:011d}"
        register.persons[nin] = _person_entry(nin, email=f"person{nin}@example.no")
    registry = HttpRegistry(base_url=register.url, timeout_seconds=0.5)

    try:
        with pytest.raises(RegistryUnavailable, match="too large"):
            registry.persons([f"{n:011d}" for n in range(100)])
    finally:
        registry.close()
