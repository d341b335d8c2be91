"""4. Delivery reports: webhooks of one report and of many per request, against a plain SQL update."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any

from bench.stack import REPORTS_ESP, WEBHOOK_PASSWORD, WEBHOOK_USER
from bench.workloads.common import (
    API,
    Context,
    ratio,
    row,
)


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
                **brief(one),
                "reports": len(single),
                "applied": one_applied,
                "applied_per_s": round(one_rate, 1),
            },
            "batched": {
                **brief(many),
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


def brief(result: dict[str, Any]) -> dict[str, Any]:
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
