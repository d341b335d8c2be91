"""6. Memory: peak RSS of the workers while one very large order is generated."""

from __future__ import annotations

import threading
import time
from typing import Any

from bench.sysload import rss_bytes
from bench.workloads.common import (
    Context,
    row,
)
from bench.workloads.large_orders import until_generated


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
        seconds = until_generated(str(order.id), timeout=max(120, recipients / 2000))
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
