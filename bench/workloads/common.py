"""What every workload shares: the sizes of a run, its context, and small helpers."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.stack import Stack, dump

API = "/notifications/api/v1"
SMS_BODY = "Hei! Du har en ny melding i innboksen din hos Altinn. Logg inn for å lese den."


@dataclass(frozen=True)
class Sizes:
    """How big each workload is; ``FULL`` is the issue's sizes, ``QUICK`` and ``SMOKE`` are smaller."""

    ingest_step_seconds: float
    ingest_first_rate: int
    ingest_rate_step: int
    ingest_max_steps: int
    large_orders: tuple[int, ...]
    send_sms: int
    send_email: int
    baseline_sms: int
    baseline_email: int
    probes: int
    reports_single: int
    report_batches: int
    report_batch_size: int
    reads_seconds: float
    reads_order: int
    memory_recipients: int
    registry_rows: int
    slow_clients_seconds: float
    scaling_notifications: int


FULL = Sizes(
    ingest_step_seconds=6,
    ingest_first_rate=50,
    ingest_rate_step=50,
    ingest_max_steps=30,
    large_orders=(10_000, 100_000),
    send_sms=50_000,
    send_email=20_000,
    baseline_sms=20_000,
    baseline_email=10_000,
    probes=20,
    reports_single=3_000,
    report_batches=100,
    report_batch_size=100,
    reads_seconds=8,
    reads_order=10_000,
    memory_recipients=1_000_000,
    registry_rows=100_000,
    slow_clients_seconds=5,
    scaling_notifications=20_000,
)
QUICK = Sizes(
    ingest_step_seconds=3,
    ingest_first_rate=100,
    ingest_rate_step=150,
    ingest_max_steps=12,
    large_orders=(10_000,),
    send_sms=10_000,
    send_email=5_000,
    baseline_sms=5_000,
    baseline_email=3_000,
    probes=10,
    reports_single=1_000,
    report_batches=30,
    report_batch_size=100,
    reads_seconds=4,
    reads_order=10_000,
    memory_recipients=200_000,
    registry_rows=20_000,
    slow_clients_seconds=3,
    scaling_notifications=10_000,
)
SMOKE = Sizes(
    ingest_step_seconds=1,
    ingest_first_rate=20,
    ingest_rate_step=20,
    ingest_max_steps=2,
    large_orders=(200,),
    send_sms=300,
    send_email=200,
    baseline_sms=300,
    baseline_email=200,
    probes=2,
    reports_single=40,
    report_batches=3,
    report_batch_size=20,
    reads_seconds=1,
    reads_order=200,
    memory_recipients=2_000,
    registry_rows=200,
    slow_clients_seconds=1,
    scaling_notifications=400,
)


@dataclass
class Context:
    stack: Stack
    sizes: Sizes
    run_dir: Path
    token: str = ""
    # Shared between workloads: the large order the reads workload reads (id and size).
    read_order: tuple[str, int] | None = None
    notes: list[str] = field(default_factory=list)
    _specs: int = 0

    @property
    def base(self) -> str:
        return self.stack.base_url

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def loadgen(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Run the load generator in its own process and return its result."""
        self._specs += 1
        path = self.run_dir / f"loadgen-{self._specs}.json"
        path.write_text(dump(spec))
        output = subprocess.run(
            [sys.executable, "-m", "bench.loadgen", str(path)],
            capture_output=True,
            text=True,
            check=False,
            cwd=Path(__file__).resolve().parent.parent,
        )
        if output.returncode:
            raise RuntimeError(f"the load generator failed:\n{output.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(output.stdout)
        return result


# --- small helpers ------------------------------------------------------------------------------------


def http(
    method: str, url: str, *, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes, float]:
    """One request from the harness: (status, body, seconds)."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            data = response.read()
            return response.status, data, time.perf_counter() - started
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), time.perf_counter() - started


def wait_for(predicate: Callable[[], bool], *, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def ratio(value: float | None, baseline: float | None) -> float | None:
    if not value or not baseline:
        return None
    return round(value / baseline, 3)


def row(
    workload: str,
    metric: str,
    value: Any,
    *,
    unit: str = "",
    baseline: Any = None,
    ratio_: float | None = None,
    target: str = "",
    met: bool | None = None,
) -> dict[str, Any]:
    return {
        "workload": workload,
        "metric": metric,
        "value": value,
        "unit": unit,
        "baseline": baseline,
        "ratio": ratio_,
        "target": target,
        "met": met,
    }


def sms_order_body(recipients: Iterable[str], *, send_at: datetime | None = None) -> bytes:
    body: dict[str, Any] = {
        "sendersReference": "bench",
        "body": SMS_BODY,
        "recipients": [{"mobileNumber": number} for number in recipients],
    }
    if send_at is not None:
        body["requestedSendTime"] = send_at.isoformat().replace("+00:00", "Z")
    return json.dumps(body).encode()


def order_status(order_id: str) -> str:
    from orders.models import Order

    return str(Order.objects.filter(id=order_id).values_list("status", flat=True).first())
