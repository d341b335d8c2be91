"""One delivery report at a time: one statement when it simply applies, the full rules otherwise."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dispatch.models import CallbackDelivery, CallbackEvent, DeadReason, DeliveryReport, ReportState
from dispatch.providers.base import INTERMEDIATE, IncomingReport, ReportStatus
from dispatch.services.reports import delivery_report_receive
from orders.models import Order, OrderStatus
from tests.dispatch.sending_support import sms_notification
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def _report(reference: str | None = "ref-1", status: str = "Delivered", **kwargs) -> IncomingReport:
    fields = {"mapped": ReportStatus(status=status), **kwargs}
    return IncomingReport(
        channel="Sms",
        provider="twilio",
        provider_status=status.lower(),
        reference=reference,
        raw="{}",
        **fields,
    )


def _accepted(order: Order, reference: str):
    return sms_notification(order=order, status="Accepted", provider="twilio", provider_reference=reference)


def test_a_report_that_applies_is_one_statement_and_stored_as_applied(django_assert_num_queries):
    order = OrderFactory(status=OrderStatus.PROCESSED)
    notification = _accepted(order, "ref-1")
    _accepted(order, "ref-2")  # still pending: the order is not done, so no completion check either

    with django_assert_num_queries(1):
        report = delivery_report_receive(report=_report("ref-1"))

    stored = DeliveryReport.objects.get(pk=report.pk)
    assert (stored.state, stored.reason, stored.notification_id) == (ReportState.APPLIED, "", notification.id)
    assert (stored.attempts, stored.mapped_status, stored.provider_status) == (1, "Delivered", "delivered")
    assert stored.processed_at is not None
    notification.refresh_from_db()
    assert notification.status == "Delivered"
    assert Order.objects.get(id=order.id).status == OrderStatus.PROCESSED


def test_a_report_matched_by_our_notification_id_applies_in_one_statement(django_assert_num_queries):
    order = OrderFactory(status=OrderStatus.PROCESSED)
    notification = _accepted(order, "ref-1")
    _accepted(order, "ref-2")
    with django_assert_num_queries(1):
        report = delivery_report_receive(report=_report("other", notification_id=notification.id))
    assert report.state == ReportState.APPLIED
    notification.refresh_from_db()
    assert notification.status == "Delivered"


def test_the_last_report_of_an_order_completes_it_after_the_statement(django_capture_on_commit_callbacks):
    order = OrderFactory(status=OrderStatus.PROCESSED)
    _accepted(order, "ref-1")
    with django_capture_on_commit_callbacks(execute=True):
        delivery_report_receive(report=_report("ref-1"))
    assert Order.objects.get(id=order.id).status == OrderStatus.COMPLETED


def test_an_order_with_a_status_callback_gets_its_outbox_row_in_the_same_transaction():
    order = OrderFactory(status=OrderStatus.PROCESSED, status_callback_url="https://client.example.no/cb")
    notification = _accepted(order, "ref-1")
    report = delivery_report_receive(report=_report("ref-1"))
    assert report.state == ReportState.APPLIED
    [delivery] = CallbackDelivery.objects.filter(event_type=CallbackEvent.NOTIFICATION_STATUS)
    assert str(notification.id) in str(delivery.payload)


@pytest.mark.parametrize(
    ("status", "expires_in", "report_kwargs", "state", "reason"),
    [
        ("Delivered", 3600, {}, ReportState.IGNORED, DeadReason.DUPLICATE),
        ("Failed", 3600, {}, ReportState.DEAD, DeadReason.FINAL_STATUS_ALREADY_SET),
        ("Accepted", -60, {}, ReportState.DEAD, DeadReason.NOTIFICATION_EXPIRED),
        ("Accepted", 3600, {"mapped": INTERMEDIATE}, ReportState.IGNORED, DeadReason.INTERMEDIATE_STATUS),
    ],
)
def test_reports_that_do_not_apply_keep_the_full_rules(status, expires_in, report_kwargs, state, reason):
    order = OrderFactory(status=OrderStatus.PROCESSED)
    notification = sms_notification(
        order=order,
        status=status,
        provider="twilio",
        provider_reference="ref-1",
        expires_at=timezone.now() + timedelta(seconds=expires_in),
    )
    report = delivery_report_receive(report=_report("ref-1", **report_kwargs))
    assert (report.state, report.reason) == (state, reason)
    notification.refresh_from_db()
    assert notification.status == status


def test_a_report_for_an_unknown_reference_waits_for_the_retry_sweep():
    report = delivery_report_receive(report=_report("nobody"))
    assert report.state == ReportState.PENDING
    assert DeliveryReport.objects.get(pk=report.pk).next_attempt_at is not None


def test_the_statement_is_prepared_once_per_connection_and_answers_alike_every_time():
    from django.db import connection

    order = OrderFactory(status=OrderStatus.PROCESSED)
    notifications = [_accepted(order, f"ref-{index}") for index in range(8)]
    _accepted(order, "ref-pending")

    first = [delivery_report_receive(report=_report(f"ref-{index}")) for index in range(4)]
    by_id = [
        delivery_report_receive(report=_report("unused", notification_id=notification.id))
        for notification in notifications[4:]
    ]
    again = delivery_report_receive(report=_report("ref-0"))  # the same report twice
    unknown = delivery_report_receive(report=_report("ref-nobody"))

    assert [report.state for report in first + by_id] == [ReportState.APPLIED] * 8
    assert [report.notification_id for report in first + by_id] == [n.id for n in notifications]
    assert (again.state, again.reason) == (ReportState.IGNORED, DeadReason.DUPLICATE)
    assert unknown.state == ReportState.PENDING
    assert DeliveryReport.objects.filter(state=ReportState.APPLIED).count() == 8
    assert set(order.sms_notifications.values_list("status", flat=True)) == {"Delivered", "Accepted"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%%WITH moved AS%%'")
        # One plan for the match by reference and one for the match by our id, each reused.
        assert cursor.fetchone()[0] == 2
