"""Outbound HTTP to caller-supplied or configured URLs, guarded against SSRF.

Condition endpoints (and status callbacks) are URLs chosen by API callers; the HTTP registry is a URL chosen
by the operator. A request to such a URL must not reach the service's own network: addresses in loopback,
link-local (cloud metadata), private, shared, multicast and reserved ranges are refused unless the operator
allows them with ``NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS`` (CIDRs, e.g. ``127.0.0.0/8`` in tests).

The check sits where the socket is opened: every new connection resolves the host once, refuses it unless
every resolved address is allowed, and connects to one of exactly those addresses. A name whose DNS answer
changes between a check and the connection (DNS rebinding) therefore cannot lead inside: there is no second
lookup. TLS still verifies the certificate for the host name (httpcore sends it as SNI and checks it), and
the Host header is the name from the URL. Redirects are not followed by ``guarded_request``; a
``GuardedClient`` that follows them checks each hop's connection the same way. Responses are capped in size
and time.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import typing
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass

import httpcore
import httpx
from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class OutboundRequestError(Exception):
    """The request failed or was refused; ``blocked`` is True when the guard refused the address."""

    def __init__(self, message: str, *, blocked: bool = False) -> None:
        super().__init__(message)
        self.blocked = blocked


@dataclass(frozen=True)
class OutboundResponse:
    status_code: int
    content: bytes
    headers: httpx.Headers


def _allowed_networks() -> list[IPNetwork]:
    return [
        ipaddress.ip_network(cidr.strip(), strict=False)
        for cidr in settings.NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS
    ]


# The IANA special-purpose blocks that are not globally reachable (plus multicast), listed here rather than
# left to ipaddress's is_global alone, whose tables differ between Python patch releases (3.11.7 calls
# 192.0.0.8 and fec0::/10 global).
_INTERNAL_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(cidr)
    for cidr in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/8",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "3fff::/20",
        "5f00::/16",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)
# NAT64's well-known prefix carries an IPv4 address in its last 32 bits, and leads where that one leads.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def address_is_allowed(address: IPAddress, allowed: Iterable[IPNetwork] = ()) -> bool:
    """Public unicast addresses pass; internal ones pass only when an allowed network contains them."""
    if any(address in network for network in allowed):
        return True
    if isinstance(address, ipaddress.IPv6Address):
        # IPv4 carried inside IPv6 goes where the IPv4 address goes: judge that one.
        if address.ipv4_mapped is not None:
            return address_is_allowed(address.ipv4_mapped, allowed)
        if address in _NAT64:
            return address_is_allowed(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), allowed)
        if address.sixtofour is not None and not address_is_allowed(address.sixtofour, allowed):
            return False
    if any(address in network for network in _INTERNAL_NETWORKS):
        return False
    return address.is_global and not address.is_multicast and not address.is_reserved


def resolve_allowed(host: str, port: int) -> list[IPAddress]:
    """Resolve ``host`` once; return its addresses if every one is allowed, else refuse.

    All, not just some: a name that also points inside is a sign of an attack, and refusing it keeps the
    outcome independent of which address a connection would have tried first.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OutboundRequestError(f"The host {host!r} could not be resolved.") from exc
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    allowed = _allowed_networks()
    if not addresses or not all(address_is_allowed(address, allowed) for address in addresses):
        raise OutboundRequestError(
            f"The host {host!r} resolves to an address that is not allowed.", blocked=True
        )
    return addresses


class _GuardedNetworkBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, connecting only to addresses that ``resolve_allowed`` returned."""

    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        error: httpcore.ConnectError | None = None
        for address in resolve_allowed(host, port):
            try:
                # An address literal: the socket layer does no lookup of its own.
                return self._backend.connect_tcp(str(address), port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:  # refused or unreachable: try the next checked address
                error = exc
        assert error is not None  # resolve_allowed returns at least one address
        raise error

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise OutboundRequestError("Unix sockets are not allowed.", blocked=True)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self, *, verify: ssl.SSLContext | bool = True) -> None:
        # No proxy from the environment: a proxy would resolve the name itself, past the guard.
        super().__init__(verify=verify, trust_env=False)
        # httpx has no parameter for httpcore's network backend, so its pool is replaced by the same pool
        # (httpx's default limits) with the guarded backend; handle_request and error mapping stay httpx's.
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedNetworkBackend(),
        )


class GuardedClient(httpx.Client):
    """An httpx client whose every connection passes the guard; share one for connection pooling."""

    def __init__(
        self,
        *,
        timeout: float | httpx.Timeout,
        headers: Mapping[str, str] | None = None,
        follow_redirects: bool = False,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        super().__init__(
            headers=headers,
            timeout=timeout,
            follow_redirects=follow_redirects,
            transport=_GuardedTransport(verify=verify),
            trust_env=False,
        )


class SharedClientBackend:
    """A backend calling one configured service through its own ``GuardedClient`` (``self._client``).

    Every caller with the same settings should share one instance, and so one connection pool:
    ``shared(key, build)`` returns the instance made for ``key`` (per class), building it on first use
    under a lock so two threads asking at once still make only one. ``close`` closes the pool.
    """

    _client: GuardedClient
    _shared: typing.ClassVar[dict[tuple[type, Hashable], typing.Any]] = {}
    _shared_lock: typing.ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def shared(cls, key: Hashable, build: Callable[[], typing.Self]) -> typing.Self:
        with SharedClientBackend._shared_lock:
            instance = SharedClientBackend._shared.get((cls, key))
            if instance is None:
                instance = SharedClientBackend._shared[(cls, key)] = build()
        return typing.cast(typing.Self, instance)

    def close(self) -> None:
        self._client.close()


def check_url(url: str) -> None:
    """Refuse URLs that are not absolute http(s) with a host; where the host leads is checked on connect."""
    try:
        parts = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise OutboundRequestError(f"The URL is not valid: {exc}", blocked=True) from exc
    if parts.scheme not in ("http", "https") or not parts.host:
        raise OutboundRequestError("Only absolute http and https URLs are allowed.", blocked=True)


def guarded_request(
    method: str,
    url: str,
    *,
    client: GuardedClient | None = None,
    timeout: float | None = None,
    max_bytes: int | None = None,
    **kwargs: object,
) -> OutboundResponse:
    """Send one request through the guard; redirects are not followed (the 3xx is the answer)."""
    check_url(url)
    timeout = timeout if timeout is not None else settings.NOTIFICATIONS_OUTBOUND_TIMEOUT_SECONDS
    limit = max_bytes if max_bytes is not None else settings.NOTIFICATIONS_OUTBOUND_MAX_RESPONSE_BYTES
    own_client = client is None
    http = client or GuardedClient(timeout=timeout)
    try:
        with http.stream(
            method,
            url,
            timeout=timeout,
            follow_redirects=False,
            **kwargs,  # type: ignore[arg-type]
        ) as response:
            body = bytearray()
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > limit:
                    raise OutboundRequestError(f"The response is larger than {limit} bytes.")
            return OutboundResponse(response.status_code, bytes(body), response.headers)
    except httpx.HTTPError as exc:
        raise OutboundRequestError(f"{exc.__class__.__name__}: {exc}") from exc
    finally:
        if own_client:
            http.close()
