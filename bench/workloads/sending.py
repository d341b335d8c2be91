"""3. Sending: notifications per second to the SMTP and SMPP sinks, against a client sending directly."""

from __future__ import annotations

import json
import smtplib
import threading
import time
import uuid
from email.message import EmailMessage
from typing import Any

from bench.loadgen import summarise
from bench.workloads.common import (
    API,
    SMS_BODY,
    Context,
    http,
    ratio,
    row,
    wait_for,
)


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
