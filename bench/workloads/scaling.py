"""9. Scaling: the same pipeline workload with the Celery nodes at one process each, then at two.

Two SMS orders (together ``scaling_notifications`` recipients, Anytime, given by mobile number) are
committed and their processing enqueued, as the API does after its 202; the clock runs from there until
the SMSC has accepted the last notification. Generation enqueues its own send run, so nothing is helped
along: what the pipeline does on its own is measured. Between the two runs only the processing and
sending nodes are restarted (web, beat, PostgreSQL, Redis and the sinks keep running). Each run also
records the CPU time of every role (web, processing and sending nodes, beat, PostgreSQL, Redis, the
SMSC), and the WAL PostgreSQL wrote and the rows it changed per notification, to tell which resource
saturates first.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from typing import Any

from bench.sysload import RoleMeter, command_name, descendants
from bench.workloads.common import Context, ratio, row, wait_for

DONE = ("Accepted", "Delivered")


def _roles(ctx: Context) -> dict[str, list[int]]:
    stack = ctx.stack
    processes = stack.processes
    redis = [pid for pid in descendants([os.getpid()]) if command_name(pid) == "redis-server"]
    return {
        "web": [processes["web"].pid],
        "processing": [processes["worker"].pid],
        "sending": [processes["sender"].pid],
        "beat": [processes["beat"].pid],
        "postgresql": stack.root_pids(),
        "redis": redis,
        "smsc": [stack.sinks["smpp"].process.pid],
    }


def _database_counters() -> tuple[int, int]:
    """(the WAL position in bytes, rows inserted + updated + deleted in the service's tables so far)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint,"
            " COALESCE(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint FROM pg_stat_user_tables"
        )
        wal, rows = cursor.fetchone()
    return int(wal), int(rows)


def _settled_rows() -> int:
    """The row counter once it stops moving: backends report their counts within a second or so of a
    commit, and idle ones within about ten (PostgreSQL's statistics flush intervals)."""
    last = _database_counters()[1]
    deadline = time.monotonic() + 12
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = _database_counters()[1]
        if now == last:
            break
        last = now
    return last


def _orders(total: int) -> list[Any]:
    """Orders not due yet: the beat's sweep of due orders must not process them while the row counter
    settles (it did, in one run: the measured rate was then only the sending's). They are made due just
    before the timer starts."""
    from django.utils import timezone

    from bench.large_order import setup_order

    first = total // 2
    later = timezone.now() + timedelta(hours=1)
    return [
        setup_order(size, "address", "Sms", sending_time_policy="Anytime", requested_send_time=later)
        for size in (first, total - first)
    ]


def run_once(ctx: Context, processes: int) -> dict[str, Any]:
    """Restart the Celery nodes at ``processes`` each, then run the pipeline workload once."""
    from django.db.models import Max
    from django.utils import timezone

    from notifications_project.celery import app as celery_app
    from orders.models import Order, SmsNotification

    ctx.stack.restart_celery(processes)
    total = ctx.sizes.scaling_notifications
    orders = _orders(total)
    ids = [order.id for order in orders]
    rows_before = _settled_rows()
    wal_before, _ = _database_counters()
    meter = RoleMeter(_roles(ctx))
    Order.objects.filter(id__in=ids).update(requested_send_time=timezone.now())
    meter.start()
    started = time.time()
    for order_id in ids:
        celery_app.send_task("dispatch.order_process", args=[str(order_id)])
    generated = wait_for(
        lambda: Order.objects.filter(id__in=ids, status__in=("Processed", "Completed")).count() == len(ids),
        timeout=max(60, total / 200),
        interval=0.02,
    )
    generated_seconds = time.time() - started
    wal_generated, _ = _database_counters()
    notifications = SmsNotification.objects.filter(order_id__in=ids)
    finished = wait_for(
        lambda: notifications.filter(status__in=DONE).count() >= total,
        timeout=max(60, total / 100),
        interval=0.1,
    )
    cpu = meter.stop()
    wal_after, _ = _database_counters()
    last = notifications.filter(status__in=DONE).aggregate(last=Max("status_changed_at"))["last"]
    seconds = (last.timestamp() if last else time.time()) - started
    accepted = notifications.filter(status__in=DONE).count()
    rows_changed = _settled_rows() - rows_before
    wall = cpu.pop("wall")
    per_notification = max(1, accepted)
    return {
        "processes_per_node": processes,
        "notifications": total,
        "accepted": accepted,
        "finished": generated and finished,
        "seconds_to_generated": round(generated_seconds, 3),
        "seconds_to_last_accepted": round(seconds, 3),
        "per_second": round(accepted / seconds, 1),
        "cpu_seconds": cpu,
        "cpu_wall_seconds": wall,
        # Share of one core each role kept busy while the workload ran (2.0 = two cores).
        "cores_busy": {role: round(value / wall, 2) for role, value in cpu.items()},
        "cpu_ms_per_notification": {
            role: round(1000 * value / per_notification, 3) for role, value in cpu.items()
        },
        "wal_bytes_per_notification": {
            "generation": round((wal_generated - wal_before) / total),
            "sending": round((wal_after - wal_generated) / per_notification),
            "total": round((wal_after - wal_before) / per_notification),
        },
        "rows_changed_per_notification": round(rows_changed / per_notification, 2),
    }


def scaling(ctx: Context) -> dict[str, Any]:
    """The pipeline workload with one, then two processes per Celery node; the rates and their ratio."""
    default = ctx.stack.worker_concurrency
    try:
        one = run_once(ctx, 1)
        two = run_once(ctx, 2)
    finally:
        if ctx.stack.worker_concurrency != default:
            ctx.stack.restart_celery(default)
    gain = ratio(two["per_second"], one["per_second"])
    total = ctx.sizes.scaling_notifications

    def cores(result: dict[str, Any]) -> str:
        busy = result["cores_busy"]
        return " / ".join(
            f"{busy[role]:.2f}" for role in ("postgresql", "processing", "sending", "smsc", "web")
        )

    return {
        "results": {"one_process_per_node": one, "two_processes_per_node": two},
        "baseline": "the same workload with one process per Celery node, in the same run",
        "ratio": {"two_to_one": gain},
        "summary": [
            row(
                "9 scaling",
                f"SMS/s enqueued to accepted ({total:,}), 1 process/node",
                one["per_second"],
                unit="msg/s",
            ),
            row(
                "9 scaling",
                "same, 2 processes/node",
                two["per_second"],
                unit="msg/s",
                baseline=one["per_second"],
                ratio_=gain,
            ),
            row(
                "9 scaling",
                "cores busy 1 / 2 processes: PostgreSQL / processing / sending / SMSC / web",
                f"{cores(one)}  |  {cores(two)}",
            ),
            row(
                "9 scaling",
                "WAL per notification (generation + sending), rows changed",
                f"{two['wal_bytes_per_notification']['total']:,} B, {two['rows_changed_per_notification']}",
            ),
        ],
    }
