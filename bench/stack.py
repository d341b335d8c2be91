"""The system under test, started for one benchmark run in its production configuration.

* PostgreSQL and Redis: private servers in the run's folder (``notifications_project.launcher.servers``),
  with fsync on and Redis's append-only file, as in production (``--smoke`` uses throwaway servers).
* web: Granian serving the ASGI application, started as ``make run`` starts it (``web_command``), with
  ``DEBUG=false``, a real ``SECRET_KEY``, JWT authentication against a key set made for the run, no API
  rate limit (it would be the first thing measured), plain HTTP.
* Celery: two prefork worker nodes (order processing on the default queue, sending on its own) and beat,
  with the project's settings.
* providers: email over SMTP and SMS over SMPP (the production defaults) to the sinks of
  :mod:`bench.sinks`, each in its own process.

Daytime SMS (the policy of every v1 SMS order) are held back by a send window that is closed for the
whole run, so the orders of the ingest and large-order workloads stay put once generated instead of
being sent in the background of later workloads; the send workload uses Anytime SMS.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.sinks import (
    SMPP_PASSWORD,
    SMPP_SYSTEM_ID,
    TWILIO_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN,
    SinkProcess,
)
from notifications_project.launcher.processes import (
    Process,
    beat_command,
    stop_all,
    web_command,
    worker_command,
)
from notifications_project.launcher.servers import free_port, postgres_server, redis_server

BASE_DIR = Path(__file__).resolve().parent.parent
ORG = "bench"
WEBHOOK_USER, WEBHOOK_PASSWORD = "reports", secrets.token_urlsafe(12)
REPORTS_ESP = "sparkpost"  # an ESP whose tracking webhook carries many events per request


def closed_sms_window(now: datetime | None = None) -> str:
    """A 30-minute SMS window (in UTC) twelve hours away: closed for the whole run."""
    hour = ((now or datetime.now(UTC)) + timedelta(hours=12)).hour
    return f"{hour:02d}:00-{hour:02d}:30"


class Stack:
    def __init__(
        self, run_dir: Path, *, throwaway: bool = False, web_workers: int = 2, worker_concurrency: int = 2
    ) -> None:
        self.run_dir = run_dir
        self.throwaway = throwaway
        self.web_workers = web_workers
        self.worker_concurrency = worker_concurrency
        self.env: dict[str, str] = {}
        self.processes: dict[str, Process] = {}
        self.sinks: dict[str, SinkProcess] = {}
        self.base_url = ""
        self.idle_rss: dict[int, int] = {}
        self._exit = ExitStack()

    # --- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> None:
        from core.tokens import ensure_dev_keys

        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "logs").mkdir(exist_ok=True)
        database_url = self._exit.enter_context(
            postgres_server(self.run_dir / "postgres", throwaway=self.throwaway)
        )
        broker_url = self._exit.enter_context(redis_server(self.run_dir / "redis", throwaway=self.throwaway))
        keys = self.run_dir / "keys"
        ensure_dev_keys(keys / "jwks.json", keys / "signing-key.pem")
        for kind in ("smtp", "smpp"):
            self.sinks[kind] = SinkProcess(kind, self.run_dir / "logs")
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        (self.run_dir / "var" / "static").mkdir(parents=True, exist_ok=True)
        inherited = {
            key: value
            for key, value in os.environ.items()
            # Only the basics: the caller's service settings (a test run's, a developer's) stay out.
            if key in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "VIRTUAL_ENV")
        }
        self.env = {
            **inherited,
            "PYTHONPATH": str(BASE_DIR),
            "DJANGO_SETTINGS_MODULE": "notifications_project.settings",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "NOTIFICATIONS_RATE_LIMIT_PER_MINUTE": "0",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "NOTIFICATIONS_VAR_DIR": str(self.run_dir / "var"),
            "NOTIFICATIONS_BASE_URI": self.base_url,
            "NOTIFICATIONS_JWKS_FILE": str(keys / "jwks.json"),
            "NOTIFICATIONS_JWT_SIGNING_KEY_FILE": str(keys / "signing-key.pem"),
            "PORT": str(port),
            # Providers: the production defaults, pointed at the sinks.
            "NOTIFICATIONS_EMAIL_PROVIDER": "smtp",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.sinks["smtp"].port),
            "NOTIFICATIONS_SMS_PROVIDER": "smpp",
            "NOTIFICATIONS_SMPP_HOST": "127.0.0.1",
            "NOTIFICATIONS_SMPP_PORT": str(self.sinks["smpp"].port),
            "NOTIFICATIONS_SMPP_SYSTEM_ID": SMPP_SYSTEM_ID,
            "NOTIFICATIONS_SMPP_PASSWORD": SMPP_PASSWORD,
            "NOTIFICATIONS_SMS_TIME_ZONE": "UTC",
            "NOTIFICATIONS_SMS_SEND_WINDOW": closed_sms_window(),
            # Delivery-report webhooks: Twilio's (one report per request) and an ESP's (many per request).
            "NOTIFICATIONS_TWILIO_ACCOUNT_SID": TWILIO_ACCOUNT_SID,
            "NOTIFICATIONS_TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
            "NOTIFICATIONS_TWILIO_CALLBACK_BASE_URI": self.base_url,
            "NOTIFICATIONS_ANYMAIL_ESP": REPORTS_ESP,
            "ANYMAIL_WEBHOOK_SECRET": f"{WEBHOOK_USER}:{WEBHOOK_PASSWORD}",
        }
        self._manage("migrate", "--noinput", "-v", "0")
        # The web server exactly as `make run` starts it (its limits at their defaults).
        self.env["WEB_CONCURRENCY"] = str(self.web_workers)
        self._spawn("web", web_command(self.env, host="127.0.0.1", port=port))
        # Two worker nodes, as deployed: order processing and the sweeps on the default queue,
        # sending on its own queue (CELERY_TASK_ROUTES), so neither waits for the other's processes.
        self._spawn_celery(self.worker_concurrency)
        self._spawn("beat", beat_command(self.run_dir / "celerybeat-schedule", loglevel="WARNING"))
        self._wait_ready()

    def _spawn_celery(self, concurrency: int) -> None:
        for name, queue in (("worker", "celery"), ("sender", "sending")):
            self._spawn(
                name,
                worker_command(
                    "--queues", queue, "--concurrency", str(concurrency), "--hostname", f"{name}@%h"
                ),
            )

    def restart_celery(self, concurrency: int, timeout: float = 60.0) -> None:
        """Stop both Celery nodes and start them again with ``concurrency`` processes each (web, beat,
        the servers and the sinks keep running); returns once both nodes are ready."""
        nodes = ("worker", "sender")
        stop_all([self.processes[name] for name in nodes], timeout=20)
        logs = {name: self.run_dir / "logs" / f"{name}.log" for name in nodes}
        offsets = {name: log.stat().st_size for name, log in logs.items()}
        self._spawn_celery(concurrency)
        self.worker_concurrency = concurrency

        def ready(name: str) -> bool:
            with logs[name].open("rb") as log:
                log.seek(offsets[name])
                return b" ready." in log.read()

        deadline = time.monotonic() + timeout
        while not all(ready(name) for name in nodes):
            for name in nodes:
                if self.processes[name].returncode is not None:
                    raise RuntimeError(f"{name} exited with {self.processes[name].returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Celery nodes were not ready within {timeout:.0f}s")
            time.sleep(0.2)

    def stop(self) -> None:
        stop_all(self.processes.values(), timeout=20)
        for sink in self.sinks.values():
            sink.stop()
        self._exit.close()

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- helpers --------------------------------------------------------------------------------------

    def _manage(self, *args: str) -> None:
        log = self.run_dir / "logs" / "manage.log"
        with log.open("a") as out:
            result = subprocess.run(
                [sys.executable, str(BASE_DIR / "manage.py"), *args],
                env=self.env,
                cwd=BASE_DIR,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if result.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{log.read_text()[-3000:]}")

    def _spawn(self, name: str, command: list[str]) -> None:
        log = self.run_dir / "logs" / f"{name}.log"
        self.processes[name] = Process(name, command, self.env, log=log).start()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        web_ready = worker_ready = False
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.returncode is not None:
                    tail = process.output()[-3000:]
                    raise RuntimeError(f"{name} exited with {process.returncode}:\n{tail}")
            if not web_ready:
                try:
                    with urllib.request.urlopen(f"{self.base_url}/health", timeout=2) as response:
                        web_ready = response.status == 200
                except OSError:
                    pass
            if not worker_ready:
                worker_ready = all(
                    " ready." in (self.run_dir / "logs" / f"{name}.log").read_text(errors="replace")
                    for name in ("worker", "sender")
                )
            if web_ready and worker_ready:
                from bench.sysload import rss_bytes

                # What the processing node's processes hold before any work: the memory baseline.
                self.idle_rss = {pid: rss_bytes(pid) for pid in self.worker_pids()}
                return
            time.sleep(0.2)
        raise RuntimeError(
            f"the service did not start within {timeout:.0f}s (web {web_ready}, worker {worker_ready})"
        )

    def root_pids(self) -> list[int]:
        """Our processes outside the harness's process tree: PostgreSQL (pg_ctl detaches it)."""
        pid_file = self.run_dir / "postgres" / "postmaster.pid"
        try:
            return [int(pid_file.read_text().split()[0])]
        except (OSError, ValueError, IndexError):
            return []

    def worker_pids(self) -> list[int]:
        """The order-processing Celery node and its pool processes."""
        from bench.sysload import descendants

        return sorted(descendants([self.processes["worker"].pid]))

    def describe(self) -> dict[str, Any]:
        return {
            "web": f"granian (ASGI), {self.web_workers} workers, keep-alive",
            "worker": f"celery prefork: processing node (-Q celery) and sending node (-Q sending), "
            f"concurrency {self.worker_concurrency} each, plus beat",
            "postgresql": "private server, fsync " + ("off (smoke)" if self.throwaway else "on"),
            "redis": "private server, "
            + ("no persistence (smoke)" if self.throwaway else "append-only file"),
            "email": f"SMTP to the aiosmtpd sink (own process, port {self.sinks['smtp'].port})",
            "sms": f"SMPP to the fake SMSC (own process, port {self.sinks['smpp'].port})",
            "sms_window": self.env["NOTIFICATIONS_SMS_SEND_WINDOW"] + " UTC (closed during the run)",
        }

    def token(self) -> str:
        """A bearer token of the benchmark's service owner, valid for the run."""
        from core.tokens import mint_token

        pem = Path(self.env["NOTIFICATIONS_JWT_SIGNING_KEY_FILE"]).read_bytes()
        return mint_token(org=ORG, expires_in=6 * 3600, signing_key_pem=pem)


def dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
