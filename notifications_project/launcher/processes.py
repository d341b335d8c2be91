"""The service's processes and the process group that runs them.

Every process gets a session of its own: Ctrl-C reaches only the launcher, and stopping a process stops
its children too (Celery's pool, Granian's workers).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from notifications_project.launcher import BASE_DIR


def web_command(env: Mapping[str, str], *, host: str, port: str | int) -> list[str]:
    """The web server's command: Granian serving the ASGI application, with its limits from ``env``.

    Granian reads requests in Rust on an event loop, so a slow or idle client costs a connection, not a
    worker: request headers must be complete within WEB_HEADER_TIMEOUT_SECONDS (also how long a kept-alive
    connection may wait for its next request), and the body is read by our ASGI middleware within
    WEB_BODY_TIMEOUT_SECONDS (core/request_body.py) before Django runs.
    """
    header_ms = round(float(env.get("WEB_HEADER_TIMEOUT_SECONDS") or 10) * 1000)
    keep_alive = (env.get("WEB_KEEP_ALIVE") or "true").strip().lower() in {"1", "true", "yes", "on"}
    return [
        sys.executable,
        "-m",
        "granian",
        # Django's ASGI handler speaks no lifespan protocol: the interface without it.
        "--interface",
        "asginl",
        "--host",
        host,
        "--port",
        str(port),
        # HTTP/1.1 only: what reverse proxies and API clients speak, and what the timeouts above cover.
        "--http",
        "1",
        "--no-ws",
        "--workers",
        env.get("WEB_CONCURRENCY") or "2",
        # Granian's backpressure counts open connections, idle ones included, per worker: beyond it new
        # connections wait in the listen backlog. Requests Django processes at once are limited apart
        # from it (WEB_CONCURRENT_REQUESTS, in request_body.py), so idle clients cannot use that up.
        "--backpressure",
        env.get("WEB_MAX_CONNECTIONS") or "1000",
        "--http1-header-read-timeout",
        str(header_ms),
        "--http1-keep-alive" if keep_alive else "--no-http1-keep-alive",
        "--respawn-failed-workers",
        "--log-level",
        "warning",
        "notifications_project.asgi:application",
    ]


def celery_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "notifications_project", *args]


def worker_command(*options: str, loglevel: str = "INFO") -> list[str]:
    """A Celery worker; ``options`` such as ``--concurrency 2``, ``--queues sending``, ``--pool solo``."""
    return celery_command("worker", "--loglevel", loglevel, *options)


def beat_command(schedule: Path, *, loglevel: str = "INFO") -> list[str]:
    return celery_command("beat", "--loglevel", loglevel, "--schedule", str(schedule))


def service_commands(env: Mapping[str, str], *, host: str, port: str) -> dict[str, list[str]]:
    """The processes of the embedded default: web, a Celery worker, beat (and the SMPP receiver)."""
    var_dir = Path(env["NOTIFICATIONS_VAR_DIR"])
    commands = {
        "web": web_command(env, host=host, port=port),
        "worker": worker_command("--concurrency", env.get("CELERY_CONCURRENCY", "2")),
        "beat": beat_command(var_dir / "celerybeat-schedule"),
    }
    if "smpp" in sms_providers(env):
        # SMPP delivery receipts arrive over a long-lived receiver bind of their own.
        commands["smpp-receiver"] = [sys.executable, "manage.py", "run_smpp_receiver"]
    return commands


def sms_providers(env: Mapping[str, str]) -> list[str]:
    """The SMS providers the settings read from ``env`` (settings/pipeline.py): NOTIFICATIONS_SMS_PROVIDERS,
    else NOTIFICATIONS_SMS_PROVIDER, whose default is the sandbox with DEBUG on and SMPP with it off."""
    debug = (env.get("DEBUG") or "").strip().lower() in {"1", "true", "yes", "on"}
    value = env.get("NOTIFICATIONS_SMS_PROVIDERS") or env.get(
        "NOTIFICATIONS_SMS_PROVIDER", "sandbox" if debug else "smpp"
    )
    return [item.split(":")[0].strip() for item in value.split(",") if item.strip()]


@dataclass
class Process:
    """One OS process of the service in a session of its own. Its output goes to ``log`` (appended, one
    ``--- start N`` line per start) or, without one, to the launcher's own output."""

    name: str
    command: Sequence[str]
    env: Mapping[str, str]
    log: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> Process:
        assert not self.alive, f"{self.name} is already running"
        if self.log is None:
            self.process = self._popen(None)
        else:
            with self.log.open("ab") as out:
                out.write(f"--- start {self.starts + 1}\n".encode())
                out.flush()
                self.process = self._popen(out)
        self.starts += 1
        return self

    def _popen(self, out: IO[bytes] | None) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            list(self.command),
            env=dict(self.env),
            cwd=BASE_DIR,
            stdout=out,
            stderr=None if out is None else subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} was never started"
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        """The exit status once it has exited (a signal as its negative number); None while running."""
        return None if self.process is None else self.process.poll()

    def signal(self, signum: int) -> None:
        if self.alive:
            os.killpg(self.pid, signum)

    def kill(self) -> None:
        """SIGKILL the process group, as the OOM killer or a lost node would: no cleanup runs."""
        assert self.process is not None
        self.signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds."""
        stop_all([self], timeout=timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log is not None and self.log.exists() else ""


def stop_all(processes: Iterable[Process], *, timeout: float) -> None:
    """SIGTERM every running process at once; SIGKILL those still running ``timeout`` seconds later."""
    running = [process for process in processes if process.alive]
    for process in running:
        process.signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in running:
        assert process.process is not None
        try:
            process.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.process.wait()


@dataclass
class RestartBackoff:
    """How long to wait before restarting a process that exited: ``first`` seconds, doubling up to
    ``most``; back to ``first`` once the process had run ``stable_after`` seconds before exiting."""

    first: float = 1.0
    most: float = 30.0
    stable_after: float = 60.0
    _next: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self._next = self.first

    def delay(self, ran_for: float) -> float:
        if ran_for >= self.stable_after:
            self._next = self.first
        delay = self._next
        self._next = min(self._next * 2, self.most)
        return delay


def supervise(
    commands: Mapping[str, Sequence[str]],
    *,
    env: Mapping[str, str],
    backoff: Callable[[], RestartBackoff] = RestartBackoff,
    poll_seconds: float = 0.2,
) -> int:
    """Run every command until Ctrl-C or SIGTERM; restart one that exits, backing off; then stop all.

    A crashed worker (the OOM killer, a ``kill -9``) must not take the API and the database down with
    it, and a process that crashes at once must not be restarted in a tight loop.
    """
    stopping = False

    def _stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)

    processes = {name: Process(name, command, env) for name, command in commands.items()}
    started: dict[str, float] = {}
    backoffs = {name: backoff() for name in commands}
    restarts = dict.fromkeys(commands, 0)
    due: dict[str, float] = {}  # name → when it is restarted
    try:
        for name, process in processes.items():
            process.start()
            started[name] = time.monotonic()
        while not stopping:
            now = time.monotonic()
            for name, process in processes.items():
                if name in due:
                    if now >= due[name]:
                        del due[name]
                        process.start()
                        started[name] = now
                elif process.returncode is not None:
                    delay = backoffs[name].delay(now - started[name])
                    restarts[name] += 1
                    print(
                        f"{name} exited with {process.returncode}; "
                        f"restarting in {delay:g}s (restart {restarts[name]})",
                        flush=True,
                    )
                    due[name] = now + delay
            time.sleep(poll_seconds)
    finally:
        stop_all(processes.values(), timeout=15)
        print(f"stopped {', '.join(commands)}", flush=True)
    return 0
