"""Delivery reports applied in batches: the single-report rules, in arrival order, in fixed queries."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from dispatch.models import DeadReason, DeliveryReport, ReportState
from dispatch.providers.base import INTERMEDIATE, UNRECOGNISED, IncomingReport, ReportStatus
from dispatch.services.report_batches import delivery_reports_receive
from orders.models import Order, OrderStatus
from tests.dispatch.sending_support import email_notification, sms_notification
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def _report(reference: str | None, status: str = "Delivered", **kwargs: Any) -> IncomingReport:
    kwargs.setdefault("channel", "Sms")
    kwargs.setdefault("provider", "smpp")
    kwargs.setdefault("mapped", ReportStatus(status=status))
    return IncomingReport(provider_status=status.upper(), reference=reference, **kwargs)


def _accepted(reference: str, **kwargs: Any):
    return sms_notification(status="Accepted", provider="smpp", provider_reference=reference, **kwargs)


def test_each_report_of_a_batch_ends_as_the_single_report_rules_say():
    delivered = _accepted("r-1")
    twice = _accepted("r-2")
    expired = _accepted("r-3", expires_at=timezone.now() - timedelta(minutes=1))
    email = email_notification(status="Succeeded", provider="esp", provider_reference=None)

    rows = delivery_reports_receive(
        reports=[
            _report("r-1"),
            _report("r-2", "Failed_Undelivered"),
            _report("r-2", "Failed_Undelivered"),  # the same final status again: a duplicate
            _report("r-2", "Delivered"),  # another final status after the first: dead
            _report("r-3"),
            _report("r-1", mapped=INTERMEDIATE),
            _report("nobody-has-this"),
            _report(None),
            _report("r-1", "WHATEVER", mapped=UNRECOGNISED),
            _report(None, channel="Email", provider="esp", notification_id=email.id),
        ]
    )

    outcomes = [(row.state, row.reason) for row in rows]
    assert outcomes == [
        (ReportState.APPLIED, ""),
        (ReportState.APPLIED, ""),
        (ReportState.IGNORED, DeadReason.DUPLICATE),
        (ReportState.DEAD, DeadReason.FINAL_STATUS_ALREADY_SET),
        (ReportState.DEAD, DeadReason.NOTIFICATION_EXPIRED),
        (ReportState.IGNORED, DeadReason.INTERMEDIATE_STATUS),
        (ReportState.PENDING, ""),
        (ReportState.DEAD, DeadReason.INVALID_NOTIFICATION_IDENTIFIER),
        (ReportState.DEAD, DeadReason.UNRECOGNIZED_SEND_RESULT),
        (ReportState.APPLIED, ""),
    ]
    # What is stored is what was returned.
    stored = {row.id: (row.state, row.reason, row.attempts) for row in DeliveryReport.objects.all()}
    assert [stored[row.id] for row in rows] == [(state, reason, 1) for state, reason in outcomes]
    assert rows[6].next_attempt_at is not None
    for notification, status in (
        (delivered, "Delivered"),
        (twice, "Failed_Undelivered"),
        (expired, "Accepted"),
        (email, "Delivered"),
    ):
        notification.refresh_from_db()
        assert notification.status == status
    assert rows[0].notification_id == delivered.id


def test_a_batch_takes_the_same_number_of_queries_whatever_its_size(django_assert_max_num_queries):
    def batch(size: int, prefix: str) -> list[IncomingReport]:
        order = OrderFactory(status=OrderStatus.PROCESSED)
        for n in range(size):
            _accepted(f"{prefix}-{n}", order=order)
        return [_report(f"{prefix}-{n}") for n in range(size)]

    small, large = batch(3, "small"), batch(60, "large")
    with django_assert_max_num_queries(12) as small_queries:
        delivery_reports_receive(reports=small)
    with django_assert_max_num_queries(len(small_queries.captured_queries)):
        delivery_reports_receive(reports=large)
    assert DeliveryReport.objects.filter(state=ReportState.APPLIED).count() == 63


def test_the_last_report_of_a_batch_completes_the_order_after_commit(django_capture_on_commit_callbacks):
    order = OrderFactory(status=OrderStatus.PROCESSED)
    for n in range(3):
        _accepted(f"c-{n}", order=order)

    with django_capture_on_commit_callbacks(execute=True):
        delivery_reports_receive(reports=[_report(f"c-{n}") for n in range(3)])

    assert Order.objects.get(id=order.id).status == OrderStatus.COMPLETED


def test_a_sparkpost_batch_is_applied_through_the_anymail_webhook(settings):
    settings.NOTIFICATIONS_ANYMAIL_ESP = "sparkpost"
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:s3cret"}
    notifications = [
        email_notification(status="Succeeded", provider="sparkpost", provider_reference=f"tx-{n}")
        for n in range(5)
    ]
    events = [
        {
            "msys": {
                "message_event": {
                    "type": "delivery" if n < 4 else "bounce",
                    "bounce_class": "10",
                    "timestamp": "1767261600",
                    "transmission_id": f"tx-{n}",
                    "rcpt_meta": {"notification_id": str(notification.id)} if n % 2 else {},
                }
            }
        }
        for n, notification in enumerate(notifications)
    ]

    response = Client().post(
        "/notifications/api/v1/webhooks/anymail/sparkpost/tracking/",
        json.dumps(events),
        content_type="application/json",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"hook:s3cret").decode(),
    )

    assert response.status_code == 204
    statuses = []
    for notification in notifications:
        notification.refresh_from_db()
        statuses.append(notification.status)
    assert statuses == ["Delivered"] * 4 + ["Failed_InvalidEmailFormat"]
    assert DeliveryReport.objects.filter(provider="sparkpost", state=ReportState.APPLIED).count() == 5
