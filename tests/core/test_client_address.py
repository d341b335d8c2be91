"""The client address behind trusted reverse proxies (used by the admin login lockout)."""

from __future__ import annotations

import ipaddress

import pytest
from django.http import HttpRequest
from django.test import RequestFactory, override_settings
from hypothesis import given
from hypothesis import strategies as st

from core.client_address import client_address


def _request(peer: str, forwarded_for: str | None = None) -> HttpRequest:
    headers = {} if forwarded_for is None else {"X-Forwarded-For": forwarded_for}
    return RequestFactory(REMOTE_ADDR=peer, headers=headers).get("/")


@pytest.fixture
def behind_proxies(settings) -> None:
    settings.NOTIFICATIONS_TRUSTED_PROXY_HEADER = "X-Forwarded-For"
    settings.NOTIFICATIONS_TRUSTED_PROXIES = ["10.0.0.0/8", "fd00::/8"]


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        ("10.0.0.5", "203.0.113.7", "203.0.113.7"),
        ("10.0.0.5", "198.51.100.1, 203.0.113.7", "203.0.113.7"),  # the client's own entry is ignored
        ("10.0.0.5", "198.51.100.1, 203.0.113.7, 10.0.0.9", "203.0.113.7"),  # two trusted proxies
        ("10.0.0.5", "203.0.113.7:51234", "203.0.113.7"),
        ("10.0.0.5", "[2001:db8::7]:443", "2001:db8::7"),
        ("10.0.0.5", "::ffff:203.0.113.7", "203.0.113.7"),
        ("fd00::1", "2001:db8::7", "2001:db8::7"),
        ("10.0.0.5", "10.0.0.7, 10.0.0.8", "10.0.0.7"),  # only proxies: the leftmost
        ("10.0.0.5", None, "10.0.0.5"),  # no header: the proxy itself
        ("10.0.0.5", "not-an-address", "10.0.0.5"),
        ("10.0.0.5", "203.0.113.7, junk, 10.0.0.9", "10.0.0.9"),  # stop at the last known address
        ("203.0.113.7", "198.51.100.1", "203.0.113.7"),  # not from a trusted proxy: header ignored
    ],
)
def test_the_client_is_the_rightmost_address_that_is_not_a_trusted_proxy(
    behind_proxies: None, peer: str, forwarded_for: str | None, client: str
) -> None:
    assert client_address(_request(peer, forwarded_for)) == client


def test_without_configuration_the_peer_is_the_client(settings) -> None:
    settings.NOTIFICATIONS_TRUSTED_PROXY_HEADER = ""
    settings.NOTIFICATIONS_TRUSTED_PROXIES = []
    assert client_address(_request("10.0.0.5", "203.0.113.7")) == "10.0.0.5"


TRUST_10 = {
    "NOTIFICATIONS_TRUSTED_PROXY_HEADER": "X-Forwarded-For",
    "NOTIFICATIONS_TRUSTED_PROXIES": ["10.0.0.0/8"],
}


@given(forged=st.text(max_size=200))
def test_a_direct_client_cannot_choose_its_address(forged: str) -> None:
    # override_settings, not the settings fixture: a function-scoped fixture would be shared by all examples.
    with override_settings(**TRUST_10):
        assert client_address(_request("203.0.113.7", forged)) == "203.0.113.7"


@given(forwarded=st.text(max_size=200))
def test_any_header_from_a_trusted_proxy_gives_an_address(forwarded: str) -> None:
    with override_settings(**TRUST_10):
        address = client_address(_request("10.0.0.5", forwarded))
    assert address is not None
    ipaddress.ip_address(address)
