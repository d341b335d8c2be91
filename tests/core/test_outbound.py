"""The SSRF guard for outbound requests to caller-supplied URLs."""

from __future__ import annotations

import ipaddress
import itertools
import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st

from core.outbound import (
    GuardedClient,
    OutboundRequestError,
    SharedClientBackend,
    address_is_allowed,
    guarded_request,
)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/big":
            body = b"x" * 10_000
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:1/inside")
            self.end_headers()
            return
        else:
            body = b'{"sendNotification": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::ffff:127.0.0.1",
    ],
)
def test_internal_addresses_are_refused_by_default(address: str) -> None:
    assert not address_is_allowed(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "2001:4860:4860::8888", "151.101.1.1", "64:ff9b::8.8.8.8", "2002:808:808::1"]
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_is_allowed(ipaddress.ip_address(address))


def test_loopback_is_refused_without_an_allowed_network(settings, local_server: str) -> None:
    settings.NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS = []
    with pytest.raises(OutboundRequestError) as error:
        guarded_request("GET", f"{local_server}/ok")
    assert error.value.blocked


def test_metadata_address_is_refused(settings) -> None:
    settings.NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS = []
    with pytest.raises(OutboundRequestError) as error:
        guarded_request("GET", "http://169.254.169.254/latest/meta-data/")
    assert error.value.blocked


def test_allowed_network_lets_the_request_through(local_server: str) -> None:
    response = guarded_request("GET", f"{local_server}/ok")
    assert response.status_code == 200
    assert response.content == b'{"sendNotification": true}'


def test_oversized_response_is_refused(local_server: str) -> None:
    with pytest.raises(OutboundRequestError, match="larger than 1000 bytes"):
        guarded_request("GET", f"{local_server}/big", max_bytes=1000)


def test_redirects_are_not_followed(local_server: str) -> None:
    response = guarded_request("GET", f"{local_server}/redirect")
    assert response.status_code == 302


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "/relative", "http://"])
def test_non_http_urls_are_refused(url: str) -> None:
    with pytest.raises(OutboundRequestError) as error:
        guarded_request("GET", url)
    assert error.value.blocked


def test_connection_refused_is_an_outbound_error() -> None:
    from notifications_project.launcher.servers import free_port

    with pytest.raises(OutboundRequestError) as error:
        guarded_request("GET", f"http://127.0.0.1:{free_port()}/", timeout=1)
    assert not error.value.blocked


# --- DNS rebinding: the address that is checked is the address that is connected to -------------------

REBIND_HOST = "rebind.example.test"


class _RecordingHandler(BaseHTTPRequestHandler):
    """Answers 200 and records every request it receives (path and Host header)."""

    def do_GET(self) -> None:
        self.server.received.append((self.path, self.headers.get("Host")))  # type: ignore[attr-defined]
        if self.path == "/redirect-inside":
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{self.server.server_address[1]}/inside")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _serve(host: str, port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), _RecordingHandler)
    server.received = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def forbidden_and_allowed() -> Iterator[tuple[ThreadingHTTPServer, ThreadingHTTPServer]]:
    """A server on 127.0.0.1 (forbidden in these tests) and one on 127.0.0.2 (allowed), on the same port."""
    forbidden = _serve("127.0.0.1", 0)
    allowed = _serve("127.0.0.2", forbidden.server_address[1])
    yield forbidden, allowed
    for server in (forbidden, allowed):
        server.shutdown()
        server.server_close()


def _stub_resolver(monkeypatch, answers: Iterator[list[str]]) -> list[str]:
    """Answer each lookup of REBIND_HOST with the next list of addresses (DNS is the network edge)."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host != REBIND_HOST:
            return real(host, port, *args, **kwargs)
        addresses = next(answers)
        lookups.append(",".join(addresses))
        return [
            (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port)))
            for address in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


def test_a_name_that_rebinds_to_a_forbidden_address_never_reaches_it(
    settings, monkeypatch, forbidden_and_allowed
) -> None:
    forbidden, allowed = forbidden_and_allowed
    settings.NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.2/32"]
    # The first answer passes the check; every later one points at the forbidden address.
    _stub_resolver(monkeypatch, itertools.chain([["127.0.0.2"]], itertools.repeat(["127.0.0.1"])))
    port = forbidden.server_address[1]

    try:
        response = guarded_request("GET", f"http://{REBIND_HOST}:{port}/rebind")
    except OutboundRequestError:
        response = None

    assert forbidden.received == []  # type: ignore[attr-defined]
    # The connection went to the checked address, with the name kept in the Host header.
    assert response is not None
    assert response.status_code == 200
    assert allowed.received == [("/rebind", f"{REBIND_HOST}:{port}")]  # type: ignore[attr-defined]


def test_a_name_resolving_to_an_allowed_and_a_forbidden_address_is_refused(
    settings, monkeypatch, forbidden_and_allowed
) -> None:
    forbidden, allowed = forbidden_and_allowed
    settings.NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.2/32"]
    _stub_resolver(monkeypatch, itertools.repeat(["127.0.0.2", "127.0.0.1"]))

    with pytest.raises(OutboundRequestError) as error:
        guarded_request("GET", f"http://{REBIND_HOST}:{forbidden.server_address[1]}/both")

    assert error.value.blocked
    assert forbidden.received == allowed.received == []  # type: ignore[attr-defined]


def test_each_connection_of_a_shared_client_is_checked(settings, monkeypatch, forbidden_and_allowed) -> None:
    """A pooled client (callbacks, registry) resolves and checks again for every new connection."""
    forbidden, allowed = forbidden_and_allowed
    settings.NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.2/32"]
    lookups = _stub_resolver(monkeypatch, itertools.chain([["127.0.0.2"]], itertools.repeat(["127.0.0.1"])))
    port = forbidden.server_address[1]

    # The test servers close every connection after one answer (HTTP/1.0), so each request connects anew.
    with GuardedClient(timeout=5) as client:
        assert guarded_request("GET", f"http://{REBIND_HOST}:{port}/first", client=client).status_code == 200
        with pytest.raises(OutboundRequestError) as error:
            guarded_request("GET", f"http://{REBIND_HOST}:{port}/second", client=client)

    assert error.value.blocked
    assert forbidden.received == []  # type: ignore[attr-defined]
    assert [path for path, _ in allowed.received] == ["/first"]  # type: ignore[attr-defined]
    assert lookups == ["127.0.0.2", "127.0.0.1"]


def test_a_followed_redirect_is_checked_at_its_own_connection(settings, forbidden_and_allowed) -> None:
    """guarded_request does not follow redirects; a client that does still cannot be led inside."""
    forbidden, allowed = forbidden_and_allowed
    settings.NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.2/32"]
    port = forbidden.server_address[1]

    with (
        GuardedClient(timeout=5, follow_redirects=True) as client,
        pytest.raises(OutboundRequestError) as error,
    ):
        client.get(f"http://127.0.0.2:{port}/redirect-inside")

    assert error.value.blocked
    assert forbidden.received == []  # type: ignore[attr-defined]


def _self_signed(tmp_path: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def test_https_verifies_the_certificate_for_the_name_while_connecting_to_the_checked_address(
    settings, monkeypatch, tmp_path: Path
) -> None:
    settings.NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.2/32"]
    cert_path, key_path = _self_signed(tmp_path, REBIND_HOST)  # valid for the name only, not for 127.0.0.2
    server_names: list[str | None] = []
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_path, key_path)
    server_context.sni_callback = lambda _sock, name, _ctx: server_names.append(name)  # type: ignore[assignment,misc,return-value]
    server = _serve("127.0.0.2", 0)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    _stub_resolver(monkeypatch, itertools.repeat(["127.0.0.2"]))
    url = f"https://{REBIND_HOST}:{server.server_address[1]}/tls"
    try:
        with GuardedClient(timeout=5, verify=ssl.create_default_context(cafile=str(cert_path))) as client:
            response = guarded_request("GET", url, client=client)
        with GuardedClient(timeout=5) as untrusting, pytest.raises(OutboundRequestError, match="CERTIFICATE"):
            guarded_request("GET", url, client=untrusting)
    finally:
        server.shutdown()
        server.server_close()

    assert response.status_code == 200
    assert server_names[0] == REBIND_HOST
    assert server.received == [("/tls", f"{REBIND_HOST}:{server.server_address[1]}")]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "host",
    [
        "2130706433",  # decimal 127.0.0.1
        "0x7f000001",  # hexadecimal
        "0177.0.0.1",  # octal first part
        "0x7f.1",
        "127.1",
        "0",
        "0.0.0.0",  # connects to the local host on Linux
        "localhost",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[::127.0.0.1]",  # IPv4-compatible
        "[::]",
    ],
)
def test_every_spelling_of_the_local_host_is_refused(settings, host: str) -> None:
    settings.NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS = []
    server = _serve("0.0.0.0", 0)
    try:
        with pytest.raises(OutboundRequestError) as error:
            guarded_request("GET", f"http://{host}:{server.server_address[1]}/x", timeout=2)
    finally:
        server.shutdown()
        server.server_close()

    assert error.value.blocked
    assert server.received == []  # type: ignore[attr-defined]


# Ranges that must never be reached by default (IANA special-purpose registries), as a class.
_FORBIDDEN_NETWORKS = [
    ipaddress.ip_network(cidr)
    for cidr in [
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/8",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    ]
]


@st.composite
def _forbidden_addresses(draw: st.DrawFn) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    network = draw(st.sampled_from(_FORBIDDEN_NETWORKS))
    address = network[draw(st.integers(min_value=0, max_value=network.num_addresses - 1))]
    if isinstance(address, ipaddress.IPv4Address):
        # The same IPv4 address as such, or carried in IPv6: mapped, NAT64 or inside a 6to4 prefix.
        form = draw(st.sampled_from(["ipv4", "mapped", "nat64", "6to4"]))
        if form == "mapped":
            return ipaddress.IPv6Address(f"::ffff:{address}")
        if form == "nat64":
            return ipaddress.IPv6Address(f"64:ff9b::{address}")
        if form == "6to4":
            return ipaddress.IPv6Address(
                (0x2002 << 112) | (int(address) << 80) | draw(st.integers(0, 2**80 - 1))
            )
    return address


@given(address=_forbidden_addresses())
def test_no_address_of_a_forbidden_range_is_allowed(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    assert not address_is_allowed(address)


@given(address=_forbidden_addresses())
def test_an_allowed_network_lets_its_own_addresses_through(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    assert address_is_allowed(address, [ipaddress.ip_network(address)])


class _Backend(SharedClientBackend):
    built: list[str] = []

    def __init__(self, name: str) -> None:
        type(self).built.append(name)
        self._client = GuardedClient(timeout=1.0)


class _OtherBackend(_Backend):
    built: list[str] = []


def test_a_shared_backend_is_built_once_per_class_and_key_even_when_threads_ask_at_once() -> None:
    key = ("shared-backend-test", threading.get_ident())
    barrier = threading.Barrier(8)
    found: list[_Backend] = []

    def ask() -> None:
        barrier.wait()
        found.append(_Backend.shared(key, lambda: _Backend("first")))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert _Backend.built.count("first") == 1
    assert all(backend is found[0] for backend in found)
    assert len(found) == 8
    other_key = _Backend.shared((*key, "other"), lambda: _Backend("second"))
    other_class = _OtherBackend.shared(key, lambda: _OtherBackend("third"))
    assert other_key is not found[0]
    assert isinstance(other_class, _OtherBackend)
    assert other_class is not found[0]

    found[0].close()
    assert found[0]._client.is_closed
    other_key.close()
    other_class.close()
