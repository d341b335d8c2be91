"""The one-report statement's completion probe beside a large earlier send.

After a large send the statistics count a few orders with thousands of pending notifications each, and
PostgreSQL, asked NOT EXISTS for another order, read the whole table sequentially (it expected to meet
the order's rows at once). The probe is ordered as the (order, status) index so only that index answers
it; the outcome must be what the full rules give, report by report, up to the order's completion.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from dispatch.models import DeliveryReport, ReportState
from dispatch.providers.base import IncomingReport, ReportStatus
from dispatch.services.report_batches import delivery_reports_receive
from dispatch.services.reports import _apply_alone_sql, delivery_report_receive
from orders.models import (
    EMAIL_PENDING_STATUSES,
    SMS_PENDING_STATUSES,
    EmailNotification,
    Order,
    OrderStatus,
    SmsNotification,
    StatusFeedEntry,
)
from tests.factories import EmailNotificationFactory, OrderFactory, SmsNotificationFactory

pytestmark = pytest.mark.django_db

EARLIER_SEND = 3000


def _earlier_send() -> None:
    """One large SMS order and one large email order still with the provider, then ANALYZE."""
    expires = timezone.now() + timedelta(hours=48)
    sms_order = OrderFactory(status=OrderStatus.PROCESSED)
    email_order = OrderFactory(email=True, status=OrderStatus.PROCESSED)
    SmsNotification.objects.bulk_create(
        SmsNotificationFactory.build_batch(
            EARLIER_SEND, order=sms_order, status="Accepted", expires_at=expires
        )
    )
    EmailNotification.objects.bulk_create(
        EmailNotificationFactory.build_batch(
            EARLIER_SEND, order=email_order, status="Succeeded", expires_at=expires
        )
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {SmsNotification._meta.db_table}")
        cursor.execute(f"ANALYZE {EmailNotification._meta.db_table}")


def _plan(channel: str, *, by_id: bool) -> str:
    now = timezone.now()
    params: dict[str, Any] = {
        "notification_id": SmsNotification.objects.values_list("id", flat=True).first(),
        "provider": "twilio",
        "reference": "ref-1",
        "channel": channel,
        "provider_status": "delivered",
        "status": "Delivered",
        "raw": "{}",
        "state": ReportState.APPLIED,
        "now": now,
        "pending": sorted(SMS_PENDING_STATUSES if channel == "Sms" else EMAIL_PENDING_STATUSES),
        "email_pending": sorted(EMAIL_PENDING_STATUSES),
        "sms_pending": sorted(SMS_PENDING_STATUSES),
        "processed": OrderStatus.PROCESSED,
    }
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {_apply_alone_sql(channel, by_id=by_id)}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize("channel", ["Sms", "Email"])
@pytest.mark.parametrize("by_id", [True, False])
def test_the_completion_probe_reads_the_order_status_indexes_beside_a_large_earlier_send(
    channel: str, by_id: bool
) -> None:
    _earlier_send()
    plan = _plan(channel, by_id=by_id)
    assert "email_order_status" in plan, plan
    assert "sms_order_status" in plan, plan
    assert "Seq Scan on orders_smsnotification" not in plan, plan
    assert "Seq Scan on orders_emailnotification" not in plan, plan


def _report(channel: str, reference: str) -> IncomingReport:
    return IncomingReport(
        channel=channel,
        provider="twilio" if channel == "Sms" else "esp",
        provider_status="delivered",
        mapped=ReportStatus(status="Delivered"),
        reference=reference,
        raw="{}",
    )


def _order_with_both_channels(tag: str) -> Order:
    order = OrderFactory(status=OrderStatus.PROCESSED)
    expires = timezone.now() + timedelta(hours=48)
    for index in range(2):
        SmsNotificationFactory(
            order=order,
            status="Accepted",
            provider="twilio",
            provider_reference=f"{tag}-sms-{index}",
            expires_at=expires,
        )
    EmailNotificationFactory(
        order=order,
        status="Succeeded",
        provider="esp",
        provider_reference=f"{tag}-email-0",
        expires_at=expires,
    )
    return order


def _state(order: Order) -> tuple[Any, ...]:
    order.refresh_from_db()
    return (
        order.status,
        sorted(order.sms_notifications.values_list("status", flat=True)),
        sorted(order.email_notifications.values_list("status", flat=True)),
        StatusFeedEntry.objects.filter(order=order).count(),
    )


def test_report_by_report_the_one_statement_leaves_what_the_full_rules_leave(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    _earlier_send()
    alone, batch = _order_with_both_channels("alone"), _order_with_both_channels("batch")
    steps = [("Sms", "sms-0"), ("Email", "email-0"), ("Sms", "sms-0"), ("Sms", "sms-1")]
    seen = []
    for channel, suffix in steps:
        with django_capture_on_commit_callbacks(execute=True):
            one = delivery_report_receive(report=_report(channel, f"alone-{suffix}"))
        with django_capture_on_commit_callbacks(execute=True):
            [other] = delivery_reports_receive(reports=[_report(channel, f"batch-{suffix}")])
        stored_one, stored_other = (
            DeliveryReport.objects.values("state", "reason", "mapped_status", "attempts").get(pk=report.pk)
            for report in (one, other)
        )
        assert stored_one == stored_other
        assert _state(alone) == _state(batch)
        seen.append(_state(alone))

    # Final exactly when the last notification is, with one feed entry; the repeated report changes nothing.
    assert seen == [
        (OrderStatus.PROCESSED, ["Accepted", "Delivered"], ["Succeeded"], 0),
        (OrderStatus.PROCESSED, ["Accepted", "Delivered"], ["Delivered"], 0),
        (OrderStatus.PROCESSED, ["Accepted", "Delivered"], ["Delivered"], 0),
        (OrderStatus.COMPLETED, ["Delivered", "Delivered"], ["Delivered"], 1),
    ]
    # The large earlier orders are untouched.
    earlier = SmsNotification.objects.exclude(order__in=[alone, batch])
    assert set(earlier.values_list("status", flat=True)) == {"Accepted"}
    assert Order.objects.filter(status=OrderStatus.COMPLETED).count() == 2
