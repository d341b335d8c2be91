"""The workloads: each measures the service and, in the same run, the baseline it is compared with.

Every function takes the :class:`Context` and returns a JSON-ready dict with ``results``, ``baseline``,
``ratio`` (service / baseline) and ``summary`` rows for the table. Load comes from separate processes
(:mod:`bench.loadgen`) or, for single requests and probes, from the harness process; never from inside
the server.
"""

from __future__ import annotations

import base64
import json
import smtplib
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from bench.loadgen import summarise
from bench.stack import REPORTS_ESP, WEBHOOK_PASSWORD, WEBHOOK_USER, Stack, dump
from bench.sysload import rss_bytes

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


# --- 1. ingest ----------------------------------------------------------------------------------------


def _ladder(ctx: Context, request: dict[str, Any], *, p99_limit_ms: float) -> dict[str, Any]:
    """Open-loop steps at rising rates; the highest rate held with p99 under the limit and no errors.

    A failed step is repeated once (a shared machine has hiccups); two failures in a row end the search.
    """
    sizes = ctx.sizes
    ctx.loadgen({"mode": "open", "rate": 20, "duration": 1, "requests": [request]})  # warm up
    steps: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    rate = sizes.ingest_first_rate
    for _ in range(sizes.ingest_max_steps):
        for attempt in (1, 2):
            result = ctx.loadgen(
                {
                    "mode": "open",
                    "rate": rate,
                    "duration": sizes.ingest_step_seconds,
                    "requests": [request],
                    "timeout": 10,
                }
            )
            p99 = result["latency_ms"]["p99"]
            held = result["errors"] == 0 and result["dropped"] == 0 and p99 is not None and p99 < p99_limit_ms
            steps.append(
                {
                    "rate": rate,
                    "attempt": attempt,
                    "held": held,
                    "throughput": result["throughput"],
                    "errors": result["errors"],
                    "error_kinds": result["error_kinds"],
                    "late": result["late"],
                    "latency_ms": result["latency_ms"],
                }
            )
            if held:
                break
            time.sleep(1)  # let a backlog drain before the repeat
        if not held:
            break
        best = steps[-1]
        rate += sizes.ingest_rate_step
    return {"max_rate": best["rate"] if best else 0, "at_max": best, "steps": steps}


def _cpu_per_request(ctx: Context, request: dict[str, Any]) -> dict[str, Any]:
    """Closed loop at the web workers' number: CPU milliseconds per request of web server and PostgreSQL."""
    from bench.sysload import cpu_seconds, descendants

    count = max(50, int(ctx.sizes.ingest_step_seconds * 150))
    web = [ctx.stack.processes["web"].pid]
    database = ctx.stack.root_pids()

    def spent(roots: list[int]) -> float:
        return sum(cpu_seconds(pid) for pid in descendants(roots))

    web_before, database_before = spent(web), spent(database)
    result = ctx.loadgen(
        {"mode": "closed", "concurrency": ctx.stack.web_workers, "count": count, "requests": [request]}
    )
    return {
        "requests": count,
        "throughput": result["throughput"],
        "errors": result["errors"],
        "web_cpu_ms": round(1000 * (spent(web) - web_before) / count, 2),
        "database_cpu_ms": round(1000 * (spent(database) - database_before) / count, 2),
    }


def ingest(ctx: Context) -> dict[str, Any]:
    """POST /orders/sms with one recipient, open loop at rising rates; baseline: GET whoami (JWT + DRF)."""
    # Scheduled for tomorrow: this measures the API, not the pipeline behind it.
    body = sms_order_body(["+4799999999"], send_at=datetime.now(UTC) + timedelta(days=1))
    headers = {**ctx.auth(), "Content-Type": "application/json"}
    order = {
        "method": "POST",
        "url": f"{ctx.base}{API}/orders/sms",
        "headers": headers,
        "body": body.decode(),
    }
    bare = {"method": "GET", "url": f"{ctx.base}{API}/whoami", "headers": ctx.auth()}
    service = _ladder(ctx, order, p99_limit_ms=50)
    baseline = _ladder(ctx, bare, p99_limit_ms=50)
    # What a request costs in CPU, web and database: unlike latencies, hardly moved by other load.
    service["cost"] = _cpu_per_request(ctx, order)
    baseline["cost"] = _cpu_per_request(ctx, bare)
    held = service["max_rate"]
    at_max = service["at_max"] or {}
    latency = at_max.get("latency_ms", {})
    return {
        "results": service,
        "baseline": baseline,
        "ratio": ratio(held, baseline["max_rate"]),
        "summary": [
            row(
                "1 ingest",
                "orders/s held (p99 < 50 ms, 0 errors)",
                held,
                unit="req/s",
                baseline=baseline["max_rate"],
                ratio_=ratio(held, baseline["max_rate"]),
                target=">= 500",
                met=held >= 500,
            ),
            row(
                "1 ingest",
                "latency at that rate p50/p95/p99",
                f"{latency.get('p50')}/{latency.get('p95')}/{latency.get('p99')}",
                unit="ms",
            ),
            row(
                "1 ingest",
                f"CPU per request, web + database (closed loop, c={ctx.stack.web_workers})",
                f"{service['cost']['web_cpu_ms']} + {service['cost']['database_cpu_ms']}",
                unit="ms",
                baseline=f"{baseline['cost']['web_cpu_ms']} + {baseline['cost']['database_cpu_ms']}",
            ),
            row(
                "1 ingest",
                f"saturated throughput (closed loop, c={ctx.stack.web_workers})",
                service["cost"]["throughput"],
                unit="req/s",
                baseline=baseline["cost"]["throughput"],
                ratio_=ratio(service["cost"]["throughput"], baseline["cost"]["throughput"]),
            ),
        ],
    }


# --- 2. large order -----------------------------------------------------------------------------------


def _post_large_order(ctx: Context, recipients: int) -> tuple[str, float]:
    """POST an SMS order with ``recipients`` mobile numbers; (order id, seconds to the 202)."""
    body = sms_order_body(f"+4799{n:06d}" for n in range(recipients))
    status, answer, seconds = http(
        "POST",
        f"{ctx.base}{API}/orders/sms",
        body=body,
        headers={**ctx.auth(), "Content-Type": "application/json"},
    )
    if status != 202:
        raise RuntimeError(f"the large order was refused: {status} {answer[:500]!r}")
    return str(json.loads(answer)["orderId"]), seconds


def _until_generated(order_id: str, timeout: float) -> float:
    started = time.perf_counter()
    if not wait_for(
        lambda: order_status(order_id) in ("Processed", "Completed"), timeout=timeout, interval=0.02
    ):
        raise RuntimeError(
            f"order {order_id} was not generated within {timeout:.0f}s ({order_status(order_id)})"
        )
    return time.perf_counter() - started


def large_order(ctx: Context) -> dict[str, Any]:
    """One order of 10,000 and one of 100,000 recipients: time to 202, to generated; rows/s vs COPY."""
    from bench.large_order import plain_copy_seconds
    from orders.models import SmsNotification

    results: dict[str, Any] = {}
    summary: list[dict[str, Any]] = []
    for recipients in ctx.sizes.large_orders:
        order_id, accept_seconds = _post_large_order(ctx, recipients)
        generate_seconds = _until_generated(order_id, timeout=max(60, recipients / 1000))
        rows = SmsNotification.objects.filter(order_id=order_id).count()
        copy_seconds = plain_copy_seconds(order_id, [SmsNotification._meta.db_table])
        pipeline_rate = rows / generate_seconds
        copy_rate = rows / copy_seconds
        results[str(recipients)] = {
            "recipients": recipients,
            "rows": rows,
            "seconds_to_202": round(accept_seconds, 3),
            "seconds_202_to_generated": round(generate_seconds, 3),
            "seconds_post_to_generated": round(accept_seconds + generate_seconds, 3),
            "generated_rows_per_s": round(pipeline_rate),
            "copy_seconds": round(copy_seconds, 3),
            "copy_rows_per_s": round(copy_rate),
            "ratio": ratio(pipeline_rate, copy_rate),
        }
        if recipients == ctx.sizes.reads_order or ctx.read_order is None:
            ctx.read_order = (order_id, rows)
        label = f"2 large order {recipients:,}"
        big = recipients >= 100_000
        summary += [
            row(label, "POST to 202", round(accept_seconds, 2), unit="s"),
            row(
                label,
                "202 to all generated",
                round(generate_seconds, 2),
                unit="s",
                target="<= 2 s" if big else "",
                met=generate_seconds <= 2 if big else None,
            ),
            row(
                label,
                "rows/s generated",
                round(pipeline_rate),
                unit="rows/s",
                baseline=round(copy_rate),
                ratio_=ratio(pipeline_rate, copy_rate),
                target=">= 50 % of COPY" if big else "",
                met=pipeline_rate >= 0.5 * copy_rate if big else None,
            ),
        ]
    return {
        "results": results,
        "baseline": "plain COPY of the same rows into the same table",
        "summary": summary,
    }


# --- 3. sending ---------------------------------------------------------------------------------------


def smpp_client_rate(port: int, count: int, *, window: int = 10) -> float:
    """The SMSC's own rate: a minimal client, one bind, ``window`` submit_sm in flight (as the provider)."""
    import smpplib.client
    import smpplib.smpp

    from bench.sinks import SMPP_PASSWORD, SMPP_SYSTEM_ID

    client = smpplib.client.Client("127.0.0.1", port, timeout=10, allow_unknown_opt_params=True)
    client.connect()
    client.bind_transmitter(system_id=SMPP_SYSTEM_ID, password=SMPP_PASSWORD)
    text = SMS_BODY.replace("å", "a").encode()
    sent = answered = 0
    started = time.perf_counter()
    while answered < count:
        while sent < count and sent - answered < window:
            client.send_pdu(
                smpplib.smpp.make_pdu(
                    "submit_sm",
                    client=client,
                    source_addr_ton=5,
                    source_addr="Altinn",
                    dest_addr_ton=1,
                    dest_addr_npi=1,
                    destination_addr=f"4798{sent:06d}",
                    short_message=text,
                    registered_delivery=1,
                )
            )
            sent += 1
        if client.read_pdu().command == "submit_sm_resp":
            answered += 1
    seconds = time.perf_counter() - started
    client.unbind()
    client.disconnect()
    return count / seconds


def smtp_client_rate(port: int, count: int) -> float:
    """The SMTP sink's own rate: smtplib over one reused session, a message like the service's."""
    message = EmailMessage()
    message["From"] = "noreply@altinn.cloud"
    message["Subject"] = "Benchmark"
    message.set_content("A short benchmark message. " * 8)
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for n in range(count):
            del message["To"]
            message["To"] = f"baseline{n}@domain.com"
            smtp.send_message(message)
    return count / (time.perf_counter() - started)


class Probes:
    """Immediate one-recipient email orders; their latency ends when the SMTP sink receives them."""

    def __init__(self, ctx: Context, tag: str) -> None:
        self.ctx = ctx
        self.tag = f"{tag}-{uuid.uuid4().hex[:6]}"  # unique per run: a repeated workload reuses no address
        self.posted: dict[str, float] = {}
        self.errors = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def post(self) -> None:
        address = f"probe-{self.tag}-{len(self.posted)}@bench.example"
        body = json.dumps(
            {"subject": "Probe", "body": "Latency probe.", "recipients": [{"emailAddress": address}]}
        ).encode()
        posted = time.time()
        status, _, _ = http(
            "POST",
            f"{self.ctx.base}{API}/orders/email",
            body=body,
            headers={**self.ctx.auth(), "Content-Type": "application/json"},
        )
        if status == 202:
            self.posted[address] = posted
        else:
            self.errors += 1

    def run(self, count: int, interval: float) -> None:
        for _ in range(count):
            if self._stop.is_set():
                return
            self.post()
            self._stop.wait(interval)

    def start(self, count: int, interval: float) -> None:
        self._thread = threading.Thread(target=self.run, args=(count, interval), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def collect(self, timeout: float) -> dict[str, Any]:
        sink = self.ctx.stack.sinks["smtp"]
        wait_for(lambda: set(self.posted) <= set(sink.probes()), timeout=timeout, interval=0.2)
        received = sink.probes()
        latencies = [received[a] - t for a, t in self.posted.items() if a in received]
        return {
            "probes": len(self.posted),
            "received": len(latencies),
            "lost": len(self.posted) - len(latencies),
            "post_errors": self.errors,
            "latency_ms": summarise(latencies),
        }


def _seed_due(channel: str, count: int) -> Any:
    """``count`` New notifications of one Processed order, committed at once (all due now)."""
    from django.db import transaction

    from bench.send_rate import _notifications

    with transaction.atomic():
        return _notifications(channel, count)


def _drain(ctx: Context, channel: str, count: int, probes: Probes | None = None) -> dict[str, Any]:
    from django.db.models import Max

    from notifications_project.celery import app as celery_app
    from orders.models import EmailNotification, SmsNotification

    model: Any = EmailNotification if channel == "Email" else SmsNotification
    done = ["Delivered"] if channel == "Email" else ["Accepted", "Delivered"]
    sink = ctx.stack.sinks["smtp" if channel == "Email" else "smpp"]
    before = sink.received()
    order = _seed_due(channel, count)
    due_at = time.time()
    # One send task per pool process, as the pipeline enqueues them (both channels; the beat sweep
    # would start one within its interval too).
    for _ in range(ctx.stack.worker_concurrency):
        celery_app.send_task("dispatch.notifications_send")
    if probes is not None:
        probes.start(count=ctx.sizes.probes, interval=0.5)
    rows = model.objects.filter(order=order)
    finished = wait_for(
        lambda: rows.filter(status__in=done).count() >= count, timeout=max(60, count / 100), interval=0.25
    )
    if probes is not None:
        probes.stop()
    last = rows.aggregate(last=Max("status_changed_at"))["last"]
    seconds = (last.timestamp() if last else time.time()) - due_at
    accepted = rows.filter(status__in=done).count()
    return {
        "notifications": count,
        "accepted": accepted,
        "finished": finished,
        "sink_received": sink.received() - before,
        "seconds_due_to_last_accepted": round(seconds, 3),
        "per_second": round(accepted / seconds, 1),
        "statuses": _status_counts(rows),
    }


def _status_counts(rows: Any) -> dict[str, int]:
    from django.db.models import Count

    return {item["status"]: item["n"] for item in rows.order_by().values("status").annotate(n=Count("id"))}


def sending(ctx: Context) -> dict[str, Any]:
    """50,000 SMS and 20,000 emails due at once, sent by the workers; POST-to-provider latency probes."""
    sizes = ctx.sizes
    sms_baseline = smpp_client_rate(ctx.stack.sinks["smpp"].port, sizes.baseline_sms)
    email_baseline = smtp_client_rate(ctx.stack.sinks["smtp"].port, sizes.baseline_email)

    idle = Probes(ctx, "idle")
    idle.run(sizes.probes, interval=0.3)
    idle_result = idle.collect(timeout=30)

    loaded = Probes(ctx, "load")
    sms = _drain(ctx, "Sms", sizes.send_sms, probes=loaded)
    loaded_result = loaded.collect(timeout=60)
    email = _drain(ctx, "Email", sizes.send_email)

    sms_rate, email_rate = sms["per_second"], email["per_second"]
    idle_ms, load_ms = idle_result["latency_ms"], loaded_result["latency_ms"]
    return {
        "results": {
            "sms": sms,
            "email": email,
            "probe_latency_idle": idle_result,
            "probe_latency_under_sms_load": loaded_result,
        },
        "baseline": {
            "smsc_minimal_client_per_s": round(sms_baseline, 1),
            "smtp_sink_minimal_client_per_s": round(email_baseline, 1),
        },
        "ratio": {"sms": ratio(sms_rate, sms_baseline), "email": ratio(email_rate, email_baseline)},
        "summary": [
            row(
                "3 send",
                f"SMS/s due to accepted ({sizes.send_sms:,})",
                sms_rate,
                unit="msg/s",
                baseline=round(sms_baseline),
                ratio_=ratio(sms_rate, sms_baseline),
                target=">= 1,000 and >= 65 %",
                met=sms_rate >= 1000 and sms_rate >= 0.65 * sms_baseline,
            ),
            row(
                "3 send",
                f"emails/s due to accepted ({sizes.send_email:,})",
                email_rate,
                unit="msg/s",
                baseline=round(email_baseline),
                ratio_=ratio(email_rate, email_baseline),
                target=">= 600 and >= 65 %",
                met=email_rate >= 600 and email_rate >= 0.65 * email_baseline,
            ),
            row(
                "3 send",
                "POST to provider, idle p50/p99",
                f"{idle_ms['p50']}/{idle_ms['p99']}",
                unit="ms",
                target="p50 <= 1 s",
                met=idle_ms["p50"] is not None and idle_ms["p50"] <= 1000,
            ),
            row(
                "3 send",
                "POST to provider, during SMS send p50/p99",
                f"{load_ms['p50']}/{load_ms['p99']}",
                unit="ms",
                target="p50 <= 1 s",
                met=load_ms["p50"] is not None and load_ms["p50"] <= 1000,
            ),
        ],
    }


# --- 4. delivery reports ------------------------------------------------------------------------------


def _seed_reported(channel: str, count: int, provider: str) -> list[tuple[str, str, str]]:
    """``count`` notifications already with the provider (Accepted / Succeeded): (id, reference, address)."""
    from django.db import connection, transaction

    from bench.send_rate import _notifications
    from orders.models import EmailNotification, SmsNotification

    model: Any = EmailNotification if channel == "Email" else SmsNotification
    status = "Succeeded" if channel == "Email" else "Accepted"
    address = "to_address" if channel == "Email" else "mobile_number"
    with transaction.atomic():
        order = _notifications(channel, count)
        with connection.cursor() as cursor:
            # In the same transaction: the send sweep never sees these rows as New.
            cursor.execute(
                f"UPDATE {model._meta.db_table} SET status = %s, provider = %s, attempts = 1, "
                "provider_reference = 'SM' || replace(id::text, '-', '') WHERE order_id = %s",
                [status, provider, order.id],
            )
    return [
        (str(id_), reference, to)
        for id_, reference, to in model.objects.filter(order=order).values_list(
            "id", "provider_reference", address
        )
    ]


def _applied(ids: list[str]) -> int:
    from dispatch.models import DeliveryReport

    return DeliveryReport.objects.filter(notification_id__in=ids, state="applied").count()


def delivery_reports(ctx: Context) -> dict[str, Any]:
    """Reports applied per second: Twilio's callback (one per request) and an ESP's batches."""
    from bench.sinks import TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN
    from dispatch.providers.twilio import signature

    sizes = ctx.sizes
    concurrency = ctx.stack.web_workers * 2
    # One per request: Twilio status callbacks, signed as Twilio signs them.
    single = _seed_reported("Sms", sizes.reports_single, "twilio")
    requests = []
    for id_, reference, to in single:
        path = f"{API}/webhooks/twilio/status?n={id_}"
        form = {
            "AccountSid": TWILIO_ACCOUNT_SID,
            "MessageSid": reference,
            "MessageStatus": "delivered",
            "To": to,
        }
        requests.append(
            {
                "method": "POST",
                "url": ctx.base + path,
                "headers": {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Twilio-Signature": signature(TWILIO_AUTH_TOKEN, ctx.base + path, form),
                },
                "body": urllib.parse.urlencode(form),
            }
        )
    one = ctx.loadgen(
        {"mode": "closed", "concurrency": concurrency, "count": len(requests), "requests": requests}
    )
    one_applied = _applied([id_ for id_, _, _ in single])
    one_rate = one_applied / one["seconds"]

    # Batched: the ESP's tracking webhook with many events per request (HTTP Basic, as configured).
    batched = _seed_reported("Email", sizes.report_batches * sizes.report_batch_size, REPORTS_ESP)
    credentials = base64.b64encode(f"{WEBHOOK_USER}:{WEBHOOK_PASSWORD}".encode()).decode()
    now = str(int(time.time()))
    batch_requests = []
    for start in range(0, len(batched), sizes.report_batch_size):
        events = [
            {
                "msys": {
                    "message_event": {
                        "type": "delivery",
                        "timestamp": now,
                        "event_id": uuid.uuid4().hex,
                        "transmission_id": reference,
                        "raw_rcpt_to": to,
                        "rcpt_meta": {"notification_id": id_},
                    }
                }
            }
            for id_, reference, to in batched[start : start + sizes.report_batch_size]
        ]
        batch_requests.append(
            {
                "method": "POST",
                "url": f"{ctx.base}{API}/webhooks/anymail/{REPORTS_ESP}/tracking/",
                "headers": {"Content-Type": "application/json", "Authorization": f"Basic {credentials}"},
                "body": json.dumps(events),
            }
        )
    many = ctx.loadgen(
        {
            "mode": "closed",
            "concurrency": ctx.stack.web_workers,
            "count": len(batch_requests),
            "requests": batch_requests,
        }
    )
    many_applied = _applied([id_ for id_, _, _ in batched])
    many_rate = many_applied / many["seconds"]

    bare = ctx.loadgen(
        {
            "mode": "closed",
            "concurrency": concurrency,
            "duration": max(2.0, min(5.0, one["seconds"])),
            "requests": [{"method": "GET", "url": f"{ctx.base}{API}/whoami", "headers": ctx.auth()}],
        }
    )
    sql_rate = _sql_batch_apply_rate(sizes.report_batches * sizes.report_batch_size, sizes.report_batch_size)
    return {
        "results": {
            "one_per_request": {
                **_brief(one),
                "reports": len(single),
                "applied": one_applied,
                "applied_per_s": round(one_rate, 1),
            },
            "batched": {
                **_brief(many),
                "batch_size": sizes.report_batch_size,
                "reports": len(batched),
                "applied": many_applied,
                "applied_per_s": round(many_rate, 1),
            },
        },
        "baseline": {
            "bare_view_req_per_s": bare["throughput"],
            "sql_batch_apply_rows_per_s": round(sql_rate, 1),
        },
        "ratio": {
            "one_per_request": ratio(one_rate, bare["throughput"]),
            "batched": ratio(many_rate, sql_rate),
        },
        "summary": [
            row(
                "4 reports",
                f"one per request (Twilio), c={concurrency}",
                round(one_rate),
                unit="reports/s",
                baseline=bare["throughput"],
                ratio_=ratio(one_rate, bare["throughput"]),
            ),
            row(
                "4 reports",
                f"batched {sizes.report_batch_size}/request ({REPORTS_ESP})",
                round(many_rate),
                unit="reports/s",
                baseline=round(sql_rate),
                ratio_=ratio(many_rate, sql_rate),
            ),
        ],
    }


def _brief(result: dict[str, Any]) -> dict[str, Any]:
    keys = ("requests", "seconds", "throughput", "errors", "error_kinds", "latency_ms")
    return {key: result[key] for key in keys}


def _sql_batch_apply_rate(count: int, batch: int) -> float:
    """The database's own rate for applying reports in batches: store the report rows and move the
    notifications to Delivered, one transaction per batch (what an ideal batched webhook would do)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from dispatch.models import DeliveryReport
    from orders.models import EmailNotification

    seeded = _seed_reported("Email", count, "sql")
    table = EmailNotification._meta.db_table
    started = time.perf_counter()
    for start in range(0, len(seeded), batch):
        chunk = seeded[start : start + batch]
        now = timezone.now()
        with transaction.atomic():
            DeliveryReport.objects.bulk_create(
                DeliveryReport(
                    channel="Email",
                    provider="sql",
                    reference=reference,
                    notification_id=id_,
                    provider_status="delivery",
                    mapped_status="Delivered",
                    raw="{}",
                    received_at=now,
                    processed_at=now,
                    state="applied",
                    attempts=1,
                )
                for id_, reference, _ in chunk
            )
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET status = 'Delivered', status_changed_at = %s "
                    "WHERE id = ANY(%s) AND status = 'Succeeded'",
                    [now, [uuid.UUID(id_) for id_, _, _ in chunk]],
                )
    return len(seeded) / (time.perf_counter() - started)


# --- 5. reads -----------------------------------------------------------------------------------------


def _closed(ctx: Context, url: str, concurrency: int, seconds: float) -> dict[str, Any]:
    result = ctx.loadgen(
        {
            "mode": "closed",
            "concurrency": concurrency,
            "duration": seconds,
            "requests": [{"method": "GET", "url": url, "headers": ctx.auth()}],
            "timeout": 30,
        }
    )
    return _brief(result)


def reads(ctx: Context) -> dict[str, Any]:
    """GET the notification list of a 10,000-notification order and its status: latency and req/s."""
    sizes = ctx.sizes
    if ctx.read_order is None or ctx.read_order[1] != sizes.reads_order:
        order_id, _ = _post_large_order(ctx, sizes.reads_order)
        _until_generated(order_id, timeout=120)
        ctx.read_order = (order_id, sizes.reads_order)
    order_id, rows = ctx.read_order
    seconds = sizes.reads_seconds
    urls = {
        "notifications_sms": f"{ctx.base}{API}/orders/{order_id}/notifications/sms",
        "status": f"{ctx.base}{API}/orders/{order_id}/status",
    }
    status, body, _ = http("GET", urls["notifications_sms"], headers=ctx.auth())
    if status != 200 or json.loads(body)["generated"] != rows:
        raise RuntimeError(f"the notification list did not answer as expected: {status}")
    results: dict[str, Any] = {"order_notifications": rows, "response_bytes": len(body)}
    workers = ctx.stack.web_workers
    for name, url in urls.items():
        results[name] = {f"c{c}": _closed(ctx, url, c, seconds) for c in (1, workers)}
    bare_url = f"{ctx.base}{API}/whoami"
    baseline = {f"c{c}": _closed(ctx, bare_url, c, min(seconds, 4)) for c in (1, workers)}
    summary = []
    for name, label in (("notifications_sms", f"GET notifications/sms ({rows:,})"), ("status", "GET status")):
        for c in (1, workers):
            measured = results[name][f"c{c}"]
            latency = measured["latency_ms"]
            p99 = latency["p99"]
            summary.append(
                row(
                    "5 reads",
                    f"{label} c={c}: req/s, p50/p99 ms",
                    f"{measured['throughput']}, {latency['p50']}/{p99}",
                    baseline=baseline[f"c{c}"]["throughput"],
                    ratio_=ratio(measured["throughput"], baseline[f"c{c}"]["throughput"]),
                    target="p99 <= 100 ms",
                    met=p99 is not None and p99 <= 100 and measured["errors"] == 0,
                )
            )
    return {"results": results, "baseline": {"bare_view": baseline}, "summary": summary}


# --- 6. memory ----------------------------------------------------------------------------------------


def memory(ctx: Context) -> dict[str, Any]:
    """Peak RSS of the worker processes while one 1,000,000-recipient order is generated."""
    from bench.large_order import setup_order
    from notifications_project.celery import app as celery_app
    from orders.models import SmsNotification

    recipients = ctx.sizes.memory_recipients
    started = time.perf_counter()
    # Straight into the database: the API refuses orders over NOTIFICATIONS_MAX_RECIPIENTS_PER_ORDER.
    order: Any = setup_order(recipients, "address", "Sms", sending_time_policy="Daytime")
    setup_seconds = time.perf_counter() - started
    pids = ctx.stack.worker_pids()
    before = {pid: rss_bytes(pid) for pid in pids}
    peak = dict(before)
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.05):
            for pid in pids:
                peak[pid] = max(peak[pid], rss_bytes(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    celery_app.send_task("dispatch.order_process", args=[str(order.id)])
    try:
        seconds = _until_generated(str(order.id), timeout=max(120, recipients / 2000))
    finally:
        stop.set()
        sampler.join()
    rows = SmsNotification.objects.filter(order_id=order.id).count()
    growth = {pid: peak[pid] - before[pid] for pid in pids}
    busiest = max(pids, key=lambda pid: (growth[pid], peak[pid]))
    peak_mb = max(peak.values()) / 1e6
    idle = ctx.stack.idle_rss
    since_start = peak[busiest] - idle.get(busiest, before[busiest])
    return {
        "results": {
            "recipients": recipients,
            "rows": rows,
            "setup_seconds": round(setup_seconds, 1),
            "generate_seconds": round(seconds, 2),
            "rows_per_s": round(rows / seconds),
            "rss_at_start_of_run_mb": {str(pid): round(value / 1e6, 1) for pid, value in idle.items()},
            "rss_before_mb": {str(pid): round(value / 1e6, 1) for pid, value in before.items()},
            "rss_peak_mb": {str(pid): round(value / 1e6, 1) for pid, value in peak.items()},
            "processing_process_growth_mb": round(growth[busiest] / 1e6, 1),
        },
        "baseline": "RSS of the same worker processes before the order, and when the run started",
        "summary": [
            row(
                "6 memory",
                f"peak worker RSS, {recipients:,} recipients",
                round(peak_mb, 1),
                unit="MB",
                baseline=round(before[busiest] / 1e6, 1),
                target="< 300 MB, flat",
                met=peak_mb < 300,
            ),
            row(
                "6 memory",
                "growth during the order / since the run started",
                f"{growth[busiest] / 1e6:.1f} / {since_start / 1e6:.1f}",
                unit="MB",
            ),
        ],
    }


# --- 7. contact registry import (bench/registry_import.py) ------------------------------------------


def registry(ctx: Context) -> dict[str, Any]:
    """The contact import and lookups of bench/registry_import.py, at the run's size."""
    from bench.registry_import import run

    rows = ctx.sizes.registry_rows
    rates = run(rows)
    return {
        "results": {"rows": rows, **{key: round(value) for key, value in rates.items()}},
        "baseline": None,
        "summary": [
            row(
                "7 registry",
                f"CSV import, {rows:,} rows (insert / update)",
                f"{rates['import_insert']:,.0f} / {rates['import_update']:,.0f}",
                unit="rows/s",
            ),
        ],
    }


# --- 8. slow clients ------------------------------------------------------------------------------------

SLOW_CLIENTS = 200


class _SlowClients:
    """Connections that trickle their request, one byte a second, and never finish it: half of them in
    the headers, half in a declared body. One the server drops is opened again, so there are always
    ``count`` of them while the latency is measured."""

    def __init__(self, base_url: str, count: int, token: str) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        self.address = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.openings = [
            b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n",
            (
                f"POST {API}/orders/sms HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
            ).encode(),
        ]
        self.sockets: list[socket.socket | None] = [None] * count
        self.reopened = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _open(self, index: int) -> None:
        sock = socket.create_connection(self.address, timeout=5)
        sock.sendall(self.openings[index % 2])
        self.sockets[index] = sock

    def start(self) -> None:
        for index in range(len(self.sockets)):
            self._open(index)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            for index, sock in enumerate(self.sockets):
                try:
                    assert sock is not None
                    sock.send(b"X")
                except (OSError, AssertionError):
                    if sock is not None:
                        sock.close()
                    self.reopened += 1
                    try:
                        self._open(index)
                    except OSError:
                        self.sockets[index] = None

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        for sock in self.sockets:
            if sock is not None:
                sock.close()


def slow_clients(ctx: Context) -> dict[str, Any]:
    """GET /health latency (one client, back to back), alone and with 200 slow clients connected."""
    seconds = ctx.sizes.slow_clients_seconds
    url = f"{ctx.base}/health"
    alone = _closed(ctx, url, 1, seconds)
    trickling = _SlowClients(ctx.base, SLOW_CLIENTS, ctx.token)
    trickling.start()
    try:
        with_slow = _closed(ctx, url, 1, seconds)
    finally:
        trickling.stop()
    p50, p99 = with_slow["latency_ms"]["p50"], with_slow["latency_ms"]["p99"]
    base50, base99 = alone["latency_ms"]["p50"], alone["latency_ms"]["p99"]
    return {
        "results": {
            "with_slow_clients": with_slow,
            "slow_clients": SLOW_CLIENTS,
            "reopened": trickling.reopened,
        },
        "baseline": {"alone": alone},
        "ratio": {"p50": ratio(p50, base50), "p99": ratio(p99, base99)},
        "summary": [
            row(
                "8 slow clients",
                f"GET /health p50/p99 with {SLOW_CLIENTS} slow clients",
                f"{p50}/{p99}",
                unit="ms",
                baseline=f"{base50}/{base99}",
                ratio_=ratio(p99, base99),
                target="answers; p99 within a few x of alone",
                met=with_slow["errors"] == 0 and with_slow["requests"] > 0,
            )
        ],
    }


WORKLOADS: dict[str, Callable[[Context], dict[str, Any]]] = {
    "ingest": ingest,
    "sending": sending,
    "large_order": large_order,
    "reads": reads,
    "reports": delivery_reports,
    "registry": registry,
    "memory": memory,
    "slow_clients": slow_clients,
}
