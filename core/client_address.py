"""The client's address, as seen through the reverse proxies the operator trusts.

Behind a proxy every request comes from the proxy's address. The proxy appends the address it saw to a
header (``X-Forwarded-For``); anything left of that entry was written by the client and can be forged.
So the header is read only when the direct peer is a trusted proxy, and from the right: trusted proxies'
own entries are skipped, and the first entry that is not a trusted proxy is the client (as nginx's
``real_ip_recursive`` does). Without ``NOTIFICATIONS_TRUSTED_PROXY_HEADER`` and
``NOTIFICATIONS_TRUSTED_PROXIES`` the header is ignored and the peer address is the client.

django-axes takes its address from here (``AXES_CLIENT_IP_CALLABLE``). django-ipware, axes' other option,
trusts the header whoever sent it, so a client that reaches the service directly could choose its address.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs)


def _parse(value: str) -> IPAddress | None:
    """An address from a header entry: ``1.2.3.4``, ``1.2.3.4:5678``, ``::1`` or ``[::1]:5678``."""
    value = value.strip()
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:  # IPv4 with a port; bare IPv6 has at least two colons
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # one client, one address: mapped and plain IPv4 count together
    return address


def client_address(request: HttpRequest) -> str | None:
    """The address of the client that sent ``request`` (the peer's, unless a trusted proxy forwarded it)."""
    peer = request.META.get("REMOTE_ADDR")
    header = settings.NOTIFICATIONS_TRUSTED_PROXY_HEADER
    proxies = _networks(tuple(settings.NOTIFICATIONS_TRUSTED_PROXIES))
    current = _parse(peer) if peer else None
    if current is None or not header or not proxies:
        return peer
    forwarded = str(request.META.get("HTTP_" + header.upper().replace("-", "_"), ""))
    hops = [hop for hop in forwarded.split(",") if hop.strip()]
    while any(current in network for network in proxies) and hops:
        previous = _parse(hops.pop())
        if previous is None:
            # A trusted proxy passed on something that is not an address: stop at the last one known.
            break
        current = previous
    return str(current)
