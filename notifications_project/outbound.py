"""Outbound HTTP to caller-supplied or configured URLs, guarded against SSRF.

Condition endpoints (and status callbacks) are URLs chosen by API callers; the HTTP registry is a URL chosen
by the operator. A request to such a URL must not reach the service's own network: addresses in loopback,
link-local (cloud metadata), private, shared, multicast and reserved ranges are refused unless the operator
allows them with ``NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS`` (CIDRs, e.g. ``127.0.0.0/8`` in tests).

The host is resolved before connecting and every resolved address must be allowed; the peer address of the
connection is checked again afterwards (a DNS answer that changed in between is refused too). Responses
are capped in size and time.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

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


def address_is_allowed(address: IPAddress, allowed: Iterable[IPNetwork] = ()) -> bool:
    """Public unicast addresses pass; internal ones pass only when an allowed network contains them."""
    if any(address in network for network in allowed):
        return True
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address_is_allowed(address.ipv4_mapped, allowed)
    return address.is_global and not address.is_multicast


def check_url(url: str) -> None:
    """Refuse URLs that are not absolute http(s), or whose host resolves to a refused address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRequestError("Only absolute http and https URLs are allowed.", blocked=True)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OutboundRequestError(f"The host {parts.hostname!r} could not be resolved.") from exc
    allowed = _allowed_networks()
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address_is_allowed(address, allowed):
            raise OutboundRequestError(
                f"The host {parts.hostname!r} resolves to an address that is not allowed.", blocked=True
            )


def _check_peer(response: httpx.Response) -> None:
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if peer:
        address = ipaddress.ip_address(peer[0])
        if not address_is_allowed(address, _allowed_networks()):
            raise OutboundRequestError("The connection reached an address that is not allowed.", blocked=True)


def guarded_request(
    method: str,
    url: str,
    *,
    client: httpx.Client | None = None,
    timeout: float | None = None,
    max_bytes: int | None = None,
    **kwargs: object,
) -> OutboundResponse:
    """Send one request through the guard; redirects are not followed (they could lead inside)."""
    check_url(url)
    timeout = timeout if timeout is not None else settings.NOTIFICATIONS_OUTBOUND_TIMEOUT_SECONDS
    limit = max_bytes if max_bytes is not None else settings.NOTIFICATIONS_OUTBOUND_MAX_RESPONSE_BYTES
    own_client = client is None
    http = client or httpx.Client(timeout=timeout, follow_redirects=False)
    try:
        with http.stream(method, url, timeout=timeout, **kwargs) as response:  # type: ignore[arg-type]
            _check_peer(response)
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
