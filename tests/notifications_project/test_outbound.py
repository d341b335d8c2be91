"""The SSRF guard for outbound requests to caller-supplied URLs."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from notifications_project.outbound import OutboundRequestError, address_is_allowed, guarded_request


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


@pytest.mark.parametrize("address", ["8.8.8.8", "2001:4860:4860::8888", "151.101.1.1"])
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
    from notifications_project.embedded import free_port

    with pytest.raises(OutboundRequestError) as error:
        guarded_request("GET", f"http://127.0.0.1:{free_port()}/", timeout=1)
    assert not error.value.blocked
