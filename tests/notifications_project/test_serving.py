"""The web server as shipped: the command ``make run`` starts, on a free loopback port, on the test database.

Slow and idle clients must cost a connection, not a worker; bodies are read within a deadline and a size
cap, chunked bodies included; the database connections of the web process do not grow per request; and
with ``DEBUG`` on (as under ``make run``) errors are problem details, never Django's debug pages.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from django.db import connection

from notifications_project.launcher.processes import web_command
from notifications_project.launcher.servers import free_port
from tests.faults.support import Service, database_url, service_env, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

API = "/notifications/api/v1"
ORDER = {"body": "Hei", "recipients": [{"mobileNumber": "+4799999999"}]}
ANSWER_TIMEOUT = 5.0  # "it answered at all": a blocked server answers only after its clients give up


@dataclass
class Web:
    port: int
    server: Service

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def web(transactional_db, services, jwks_file) -> Callable[..., Web]:
    """Start the web server as ``make run`` does (DEBUG on), with ``overrides`` in its environment."""

    def start(**overrides: str) -> Web:
        port = free_port()
        env = service_env(
            DATABASE_URL=database_url(connection.settings_dict),
            CELERY_BROKER_URL=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"),
            NOTIFICATIONS_JWKS_FILE=str(jwks_file),
            WEB_CONCURRENCY="1",
            **overrides,
        )
        server = services("web", web_command(env, host="127.0.0.1", port=port), env).start()

        def up() -> bool:
            assert server.alive, server.output()[-3000:]
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code > 0
            except httpx.TransportError:
                return False

        wait_for("the web server", up, timeout=60)
        return Web(port, server)

    return start


@pytest.fixture
def services(tmp_path) -> Iterator[Callable[..., Service]]:
    started: list[Service] = []

    def make(name: str, command: list[str], env: dict[str, str]) -> Service:
        service = Service(name=name, command=command, env=env, log=tmp_path / f"{name}.log")
        started.append(service)
        return service

    yield make
    for service in started:
        if service.process is not None:
            service.kill()


class Trickler:
    """Sockets that each send one byte now and then and never finish their request."""

    def __init__(self) -> None:
        self.sockets: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def open(self, port: int, opening: bytes) -> None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(opening)
        self.sockets.append(sock)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            for sock in self.sockets:
                try:
                    sock.send(b"X")
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for sock in self.sockets:
            sock.close()


def raw_request(port: int, request: bytes, *, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` as is on a new connection; return the status, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed before an answer: {data!r}"
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        fields = (line.partition(":") for line in lines[1:])
        headers = {name.lower(): value.strip() for name, _, value in fields}
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    return int(lines[0].split()[1]), headers, body


def chunked(body: bytes, size: int = 7) -> bytes:
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"


def post_head(path: str, token: str, *framing: str) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: Bearer {token}",
        "Content-Type: application/json",
        *framing,
        "Connection: close",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_slow_and_idle_clients_do_not_hold_up_health_or_the_api(web, make_token) -> None:
    port = web(WEB_BODY_TIMEOUT_SECONDS="60", WEB_HEADER_TIMEOUT_SECONDS="60").port
    token = make_token()
    trickler = Trickler()
    idle: list[socket.socket] = []
    try:
        for _ in range(2):
            trickler.open(port, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        for _ in range(2):
            trickler.open(port, post_head(f"{API}/orders/sms", token, "Content-Length: 100000"))
        trickler.start()
        idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(200)]

        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=ANSWER_TIMEOUT)
        auth = {"Authorization": f"Bearer {token}"}
        whoami = httpx.get(f"http://127.0.0.1:{port}{API}/whoami", headers=auth, timeout=ANSWER_TIMEOUT)
        order = httpx.post(f"http://127.0.0.1:{port}{API}/orders/sms", json=ORDER, headers=auth, timeout=5)
    finally:
        trickler.close()
        for sock in idle:
            sock.close()

    assert health.status_code == 200, health.text
    assert whoami.status_code == 200, whoami.text
    assert order.status_code == 202, order.text


def test_a_body_that_does_not_arrive_within_the_deadline_is_a_408_problem(web, make_token) -> None:
    port = web(WEB_BODY_TIMEOUT_SECONDS="1").port
    request = post_head(f"{API}/orders/sms", make_token(), "Content-Length: 1000") + b'{"body": "'

    status, headers, body = raw_request(port, request)

    assert status == 408
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["title"] == "Request Timeout"


def test_a_chunked_body_is_read_like_any_other(web, make_token) -> None:
    port = web().port
    request = post_head(f"{API}/orders/sms", make_token(), "Transfer-Encoding: chunked")

    status, _, body = raw_request(port, request + chunked(json.dumps(ORDER).encode()))

    assert status == 202, body
    assert "orderId" in json.loads(body)


@pytest.mark.parametrize(
    "framing",
    [
        pytest.param(("Transfer-Encoding: chunked",), id="chunked"),
        pytest.param(("Content-Length: {length}",), id="content-length"),
    ],
)
def test_a_body_over_the_size_limit_is_a_413_problem(web, make_token, framing) -> None:
    port = web(NOTIFICATIONS_MAX_REQUEST_BYTES="1000").port
    document = json.dumps({**ORDER, "body": "x" * 2000}).encode()
    head = post_head(f"{API}/orders/sms", make_token(), *(f.format(length=len(document)) for f in framing))
    payload = chunked(document, 100) if "chunked" in framing[0] else document

    status, headers, body = raw_request(port, head + payload)

    assert status == 413
    assert headers["content-type"] == "application/problem+json"
    assert "1000 bytes" in json.loads(body)["detail"]


def test_a_body_at_the_size_limit_is_accepted_chunked(web, make_token) -> None:
    document = json.dumps(ORDER).encode()
    port = web(NOTIFICATIONS_MAX_REQUEST_BYTES=str(len(document))).port
    head = post_head(f"{API}/orders/sms", make_token(), "Transfer-Encoding: chunked")

    status, _, body = raw_request(port, head + chunked(document))

    assert status == 202, body


def test_sequential_requests_do_not_grow_the_database_connections(web, make_token) -> None:
    port = web(WEB_CONCURRENT_REQUESTS="3").port
    auth = {"Authorization": f"Bearer {make_token()}"}

    def server_connections() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return int(cursor.fetchone()[0])

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=auth, timeout=10) as client:
        for _ in range(40):
            assert client.get(f"{API}/whoami").status_code == 200
            assert client.get("/health").status_code == 200

    # At most one persistent connection per thread of the pool, in each of the two web workers.
    assert server_connections() <= 2 * 3


def test_errors_are_problem_details_not_debug_pages_with_debug_on(web) -> None:
    server = web(DEBUG="true", DJANGO_SETTINGS_MODULE="tests.notifications_project.serving_settings")

    missing = httpx.get(f"{server.url}/no/such/page", timeout=10)
    failing = httpx.get(f"{server.url}/test-only/fails", timeout=10)

    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert "urlpatterns" not in missing.text
    assert "notifications/api/v1" not in missing.text
    assert failing.status_code == 500
    assert failing.headers["content-type"] == "application/problem+json"
    assert failing.json()["title"] == "Internal Server Error"
    assert "Traceback" not in failing.text
    assert "RuntimeError" not in failing.text
    assert "secret detail" not in failing.text
    # The traceback goes to the log instead.
    wait_for("the traceback in the log", lambda: "secret detail" in server.server.output(), timeout=10)
