"""Every documented start configuration of ``make run`` starts from a clean state and delivers an order.

Each test starts the launcher as an operator would (``python -m notifications_project.embedded run``) in a
process group of its own, on a free port, with a fresh ``NOTIFICATIONS_VAR_DIR`` and an environment holding
only what that configuration names (nothing of the test runner's servers). It waits for ``GET /health``,
posts an order with a token valid for that configuration and polls until the notification is final, then
stops the launcher with SIGTERM: it must exit 0 within ``STOP_SECONDS`` and leave no process behind.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from fakes.smpp import SmppFake
from fakes.smtp import SmtpFake
from notifications_project.launcher import BASE_DIR
from notifications_project.launcher.servers import free_port, postgres_server, redis_server
from tests.faults.support import wait_for

# A start includes initdb, migrate and collectstatic (about half a minute on an idle machine); the machine
# running the suite may be busy with other work.
START_SECONDS = 300
STOP_SECONDS = 30
DELIVERY_SECONDS = 60
API = "/notifications/api/v1"

# What the test runner's own environment may hold that would steer the launcher: each test names what
# its configuration sets, and nothing else reaches the launcher.
_STEERING = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "DJANGO_SETTINGS_MODULE",
    "DEBUG",
    "SECRET_KEY",
)
_STEERING_PREFIXES = ("NOTIFICATIONS_", "ALLOWED_HOSTS", "CSRF_", "SECURE_", "EMAIL_", "ANYMAIL_", "WEB_")
_STEERING_PREFIXES += ("SESSION_", "PORT", "HOST", "CELERY_", "LOG_LEVEL", "TEST_STEPS", "PYTEST_")


def clean_environment(**configuration: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in _STEERING and not name.startswith(_STEERING_PREFIXES)
    }
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "WARNING",
            # Quicker than the defaults, so a configuration takes seconds, not minutes; one process each.
            "NOTIFICATIONS_SWEEP_INTERVAL_SECONDS": "1",
            "NOTIFICATIONS_SANDBOX_REPORT_DELAY_SECONDS": "0.2",
            "WEB_CONCURRENCY": "1",
            "CELERY_CONCURRENCY": "1",
        }
    )
    env.update(configuration)
    return env


# --- the processes a launch leaves (Linux's /proc: the launcher's tree and the daemonized PostgreSQL) ---


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time) of a process, None when it is gone or a zombie."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else (int(fields[1]), int(fields[19]))


def process_tree(*roots: int) -> set[tuple[int, int]]:
    """Every running process under ``roots`` (themselves included) as (pid, start time)."""
    parents: dict[int, list[int]] = {}
    started: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            parents.setdefault(stat[0], []).append(int(entry.name))
            started[int(entry.name)] = stat[1]
    found: set[tuple[int, int]] = set()
    todo = [root for root in roots if root in started]
    while todo:
        pid = todo.pop()
        found.add((pid, started[pid]))
        todo.extend(parents.get(pid, []))
    return found


def still_running(processes: set[tuple[int, int]]) -> set[tuple[int, int]]:
    return {(pid, start) for pid, start in processes if (stat := _stat(pid)) is not None and stat[1] == start}


@dataclass
class Launch:
    process: subprocess.Popen[bytes]
    port: int
    var_dir: Path
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def banner_token(self) -> str:
        match = re.search(r"export TOKEN=(\S+)", self.output())
        assert match, f"no demo token in the banner:\n{self.output()}"
        return match.group(1)

    def processes(self) -> set[tuple[int, int]]:
        """The launcher with everything under it, and its private PostgreSQL (daemonized by pg_ctl)."""
        roots = [self.process.pid]
        postmaster = self.var_dir / "postgres" / "postmaster.pid"
        if postmaster.exists():
            roots.append(int(postmaster.read_text().split()[0]))
        return process_tree(*roots)

    def healthy(self) -> bool:
        assert self.process.poll() is None, (
            f"the launcher exited with {self.process.returncode}:\n{self.output()}"
        )
        try:
            return httpx.get(f"{self.base}/health", timeout=5).status_code == 200
        except httpx.TransportError:
            return False


@pytest.fixture
def var_dir() -> Iterator[Path]:
    """A fresh folder outside pytest's temporary tree (PostgreSQL may run as its own user, and pytest makes
    its tree's top folder private), removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="notifications-start-"))
    yield path / "var"
    shutil.rmtree(path, ignore_errors=True)


@contextmanager
def launched(var_dir: Path, **configuration: str) -> Iterator[Launch]:
    """The launcher started with ``configuration``, healthy; stopped with SIGTERM on exit."""
    port = free_port()
    env = clean_environment(NOTIFICATIONS_VAR_DIR=str(var_dir), PORT=str(port), **configuration)
    var_dir.mkdir(parents=True, exist_ok=True)
    log = var_dir.parent / "launcher.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "notifications_project.embedded", "run"],
            env=env,
            cwd=BASE_DIR,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    launch = Launch(process, port, var_dir, log)
    stopped = False
    try:
        try:
            wait_for("GET /health to answer 200", launch.healthy, timeout=START_SECONDS, interval=0.2)
            yield launch
        except BaseException:
            sys.stderr.write(f"--- the launcher's output:\n{launch.output()[-20000:]}\n")  # shown on failure
            raise
        left = launch.processes()
        stopped = True
        process.send_signal(signal.SIGTERM)
        try:
            returncode = process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the launcher did not stop within {STOP_SECONDS}s of SIGTERM:\n{launch.output()}")
        assert returncode == 0, launch.output()
        assert "stopped web, worker, beat" in launch.output()
        # Grandchildren (Celery's pool, Granian's workers) may take a moment after their parent exits.
        wait_for("no process of the launch to be left", lambda: not still_running(left), timeout=10)
    finally:
        if not stopped or process.poll() is None:
            left = launch.processes()
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                pass
            for pid, _ in still_running(left | launch.processes()):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


# --- an order, end to end --------------------------------------------------------------------------


def api(launch: Launch, token: str, **headers: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{launch.base}{API}", headers={"Authorization": f"Bearer {token}", **headers}, timeout=15
    )


def deliver(client: httpx.Client, channel: str, recipient: dict[str, str], final: set[str]) -> str:
    """POST a one-recipient order on ``channel``; poll until its notification's status is in ``final``.
    Returns the order id."""
    body: dict[str, Any] = {"body": "Hei fra oppstartstesten", "recipients": [recipient]}
    if channel == "email":
        body["subject"] = "Oppstart"
    response = client.post(f"/orders/{channel}", json=body)
    assert response.status_code == 202, response.text
    order_id = str(response.json()["orderId"])

    def status() -> str | None:
        answer = client.get(f"/orders/{order_id}/notifications/{channel}")
        assert answer.status_code == 200, answer.text
        notifications = answer.json()["notifications"]
        return str(notifications[0]["sendStatus"]["status"]) if notifications else None

    last: list[str | None] = []

    def is_final() -> bool:
        last[:] = [status()]
        assert last[0] is None or not last[0].startswith("Failed"), f"{channel} notification {last[0]}"
        return last[0] in final

    try:
        wait_for(
            f"the {channel} notification to become {sorted(final)}",
            is_final,
            timeout=DELIVERY_SECONDS,
            interval=0.3,
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}; its last status: {last[0] if last else None}") from None
    return order_id


def operator_token(make_token: Callable[..., str], **claims: Any) -> str:
    """A bearer token signed with the test's own key (``jwks_file`` holds its public half)."""
    return make_token(org="ttd", extra_claims=claims or None)


@pytest.fixture
def smtp() -> Iterator[SmtpFake]:
    fake = SmtpFake().start()
    yield fake
    fake.stop()


@pytest.fixture
def smsc() -> Iterator[SmppFake]:
    fake = SmppFake().start()
    yield fake
    fake.stop()


def providers_at(smtp: SmtpFake, smsc: SmppFake) -> dict[str, str]:
    """SMTP and SMPP settings pointing at the local fakes (no TLS, the fake SMSC's credentials)."""
    return {
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp.port),
        "NOTIFICATIONS_SMPP_HOST": "127.0.0.1",
        "NOTIFICATIONS_SMPP_PORT": str(smsc.port),
        "NOTIFICATIONS_SMPP_SYSTEM_ID": smsc.system_id,
        "NOTIFICATIONS_SMPP_PASSWORD": smsc.password,
    }


# --- the configurations --------------------------------------------------------------------------


def test_the_embedded_default(var_dir: Path) -> None:
    """``make run`` as it is: private PostgreSQL and Redis, development keys, the sandbox providers."""
    with launched(var_dir) as launch:
        assert (var_dir / "postgres" / "PG_VERSION").exists()
        assert (var_dir / "redis").is_dir()
        with api(launch, launch.banner_token()) as client:
            deliver(client, "email", {"emailAddress": "start@example.no"}, {"Succeeded", "Delivered"})
            deliver(client, "sms", {"mobileNumber": "+4799999999"}, {"Delivered"})


def test_the_operators_own_key_set(var_dir: Path, jwks_file: Path, make_token: Callable[..., str]) -> None:
    """NOTIFICATIONS_JWKS_FILE names the operator's key set: no development key is made, the banner says
    where tokens come from, and a token of the operator's works."""
    with launched(var_dir, NOTIFICATIONS_JWKS_FILE=str(jwks_file)) as launch:
        output = launch.output()
        assert "bearer tokens come from your identity provider" in output
        assert str(jwks_file) in output
        assert "export TOKEN=" not in output
        assert not list(var_dir.glob("keys/*")), "development keys were made next to the operator's"
        with api(launch, operator_token(make_token)) as client:
            assert client.get("/whoami").status_code == 200
            deliver(client, "sms", {"mobileNumber": "+4799999999"}, {"Delivered"})


def test_external_postgresql_and_redis(var_dir: Path) -> None:
    """DATABASE_URL and CELERY_BROKER_URL name the operator's servers: the launcher starts none of its own."""
    servers = var_dir.parent / "operator-servers"
    with postgres_server(servers / "postgres", throwaway=True) as database_url:
        with redis_server(servers / "redis", throwaway=True) as broker_url:
            with launched(var_dir, DATABASE_URL=database_url, CELERY_BROKER_URL=broker_url) as launch:
                assert not (var_dir / "postgres").exists()
                assert not (var_dir / "redis").exists()
                with api(launch, launch.banner_token()) as client:
                    order_id = deliver(
                        client, "email", {"emailAddress": "start@example.no"}, {"Succeeded", "Delivered"}
                    )
                # The order went into the operator's database.
                with psycopg.connect(database_url) as conn:
                    row = conn.execute("SELECT 1 FROM orders_order WHERE id = %s", [order_id]).fetchone()
                assert row == (1,)


PRODUCTION_HOST = "notifications.example.test"


def production(jwks_file: Path, **more: str) -> dict[str, str]:
    """The production checklist (docs/security.md, docs/configuration.md): DEBUG off, a secret key, the
    host names and origins, the operator's key set with issuer and audience, a TLS-terminating proxy."""
    return {
        "DEBUG": "false",
        "SECRET_KEY": "start-configuration-test-" + "k" * 40,
        "ALLOWED_HOSTS": PRODUCTION_HOST,
        "CSRF_TRUSTED_ORIGINS": f"https://{PRODUCTION_HOST}",
        "SECURE_PROXY_SSL_HEADER": "true",
        "NOTIFICATIONS_BASE_URI": f"https://{PRODUCTION_HOST}",
        "NOTIFICATIONS_JWKS_FILE": str(jwks_file),
        "NOTIFICATIONS_JWT_ISSUERS": "https://idp.example.test",
        "NOTIFICATIONS_JWT_AUDIENCE": "notifications",
        **more,
    }


def test_production_settings_with_smtp_and_smpp(
    var_dir: Path, jwks_file: Path, make_token: Callable[..., str], smtp: SmtpFake, smsc: SmppFake
) -> None:
    """DEBUG off: SMTP and SMPP are the providers by default (their receiver runs too), requests come
    through a TLS-terminating proxy for the allowed host, and a probe by address still gets /health."""
    with launched(var_dir, **production(jwks_file, **providers_at(smtp, smsc))) as launch:
        # A load balancer's probe names the instance's address, not the service's host name.
        assert httpx.get(f"{launch.base}/health", timeout=5).status_code == 200
        token = operator_token(make_token, iss="https://idp.example.test", aud="notifications")
        with api(launch, token) as by_address:
            assert by_address.get("/whoami").status_code == 400  # every other path checks the Host
        with api(launch, token, Host=PRODUCTION_HOST) as plain_http:
            assert plain_http.get("/whoami").status_code == 301  # to https
        with api(launch, token, Host=PRODUCTION_HOST, **{"X-Forwarded-Proto": "https"}) as client:
            assert client.get("/whoami").status_code == 200
            deliver(client, "email", {"emailAddress": "prod@example.no"}, {"Succeeded", "Delivered"})
            deliver(client, "sms", {"mobileNumber": "+4799999998"}, {"Delivered"})
        assert [item.rcpt_tos for item in smtp.received] == [["prod@example.no"]]
        assert [submit.destination_addr for submit in smsc.submits] == ["4799999998"]
        assert "bind_receiver" in smsc.binds  # the receipts came over the receiver's own bind


def test_production_settings_without_allowed_hosts_refuse_to_start(var_dir: Path, jwks_file: Path) -> None:
    """Instead of a healthy-looking service that answers every call with a bare 400."""
    configuration = production(jwks_file)
    del configuration["ALLOWED_HOSTS"]
    env = clean_environment(NOTIFICATIONS_VAR_DIR=str(var_dir), PORT=str(free_port()), **configuration)
    result = subprocess.run(
        [sys.executable, "-m", "notifications_project.embedded", "run"],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=START_SECONDS,
        start_new_session=True,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "notifications.E003" in output
    assert "ALLOWED_HOSTS is empty" in output
    assert "Not started: `manage.py migrate" in output
    assert "Traceback" not in output
    # Its private PostgreSQL was stopped again (pg_ctl removes the pid file on a clean stop).
    assert not (var_dir / "postgres" / "postmaster.pid").exists()


def test_smtp_and_smpp_at_the_local_fakes(var_dir: Path, smtp: SmtpFake, smsc: SmppFake) -> None:
    """The embedded default with real providers: SMTP and SMPP (and its receipt receiver) at local servers."""
    configuration = {
        "NOTIFICATIONS_EMAIL_PROVIDER": "smtp",
        "NOTIFICATIONS_SMS_PROVIDER": "smpp",
        **providers_at(smtp, smsc),
    }
    with launched(var_dir, **configuration) as launch:
        with api(launch, launch.banner_token()) as client:
            deliver(client, "email", {"emailAddress": "fake@example.no"}, {"Succeeded", "Delivered"})
            deliver(client, "sms", {"mobileNumber": "+4799999997"}, {"Delivered"})
        assert [item.rcpt_tos for item in smtp.received] == [["fake@example.no"]]
        assert [submit.destination_addr for submit in smsc.submits] == ["4799999997"]
        assert "bind_receiver" in smsc.binds
