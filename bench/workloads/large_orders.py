"""2. A large order: accepting and generating an order of many recipients, against a plain copy."""

from __future__ import annotations

import json
import time
from typing import Any

from bench.workloads.common import (
    API,
    Context,
    http,
    order_status,
    ratio,
    row,
    sms_order_body,
    wait_for,
)


def post_large_order(ctx: Context, recipients: int) -> tuple[str, float]:
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


def until_generated(order_id: str, timeout: float) -> float:
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
        order_id, accept_seconds = post_large_order(ctx, recipients)
        generate_seconds = until_generated(order_id, timeout=max(60, recipients / 1000))
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
