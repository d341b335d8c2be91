"""Applying delivery reports: matching, duplicates, order, final statuses and dead reports."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from dispatch.models import DeliveryReport, ReportState
from dispatch.providers.base import INTERMEDIATE, UNRECOGNISED, IncomingReport, ReportStatus
from dispatch.services.reports import (
    delivery_report_reapply,
    delivery_report_receive,
    delivery_reports_retry,
)
from orders.models import Order, OrderStatus
from tests.dispatch.sending_support import email_notification, sms_notification

pytestmark = pytest.mark.django_db


def _report(reference="ref-1", status="Delivered", *, channel="Sms", provider="smpp", mapped=None, **kwargs):
    return IncomingReport(
        channel=channel,
        provider=provider,
        provider_status=status.upper(),
        mapped=mapped or ReportStatus(status=status),
        reference=reference,
        **kwargs,
    )


def _accepted_sms(**kwargs):
    kwargs.setdefault("status", "Accepted")
    kwargs.setdefault("provider", "smpp")
    kwargs.setdefault("provider_reference", "ref-1")
    return sms_notification(**kwargs)


def test_a_report_is_matched_by_provider_and_reference_and_completes_the_order(
    django_capture_on_commit_callbacks,
):
    notification = _accepted_sms()
    with django_capture_on_commit_callbacks(execute=True):
        report = delivery_report_receive(report=_report())
    assert (report.state, report.notification_id) == (ReportState.APPLIED, notification.id)
    notification.refresh_from_db()
    assert notification.status == "Delivered"
    assert Order.objects.get(id=notification.order_id).status == OrderStatus.COMPLETED


def test_the_same_reference_from_another_provider_does_not_match():
    notification = _accepted_sms()
    report = delivery_report_receive(report=_report(provider="twilio"))
    assert report.state == ReportState.PENDING
    notification.refresh_from_db()
    assert notification.status == "Accepted"


def test_a_report_naming_our_notification_id_matches_without_a_reference():
    notification = email_notification(status="Succeeded", provider="postmark")
    report = delivery_report_receive(
        report=_report(
            None, "Failed_Bounced", channel="Email", provider="postmark", notification_id=notification.id
        )
    )
    assert report.state == ReportState.APPLIED
    notification.refresh_from_db()
    assert notification.status == "Failed_Bounced"


def test_a_duplicate_final_report_is_ignored_and_a_conflicting_one_is_dead():
    notification = _accepted_sms()
    delivery_report_receive(report=_report())
    duplicate = delivery_report_receive(report=_report())
    conflicting = delivery_report_receive(report=_report(status="Failed_Undelivered"))
    assert (duplicate.state, duplicate.reason) == (ReportState.IGNORED, "DUPLICATE")
    assert (conflicting.state, conflicting.reason) == (ReportState.DEAD, "FINAL_STATUS_ALREADY_SET")
    notification.refresh_from_db()
    assert notification.status == "Delivered"


def test_an_intermediate_report_after_the_final_one_changes_nothing():
    notification = _accepted_sms()
    delivery_report_receive(report=_report())
    late = delivery_report_receive(report=_report(status="ENROUTE", mapped=INTERMEDIATE))
    assert (late.state, late.reason) == (ReportState.IGNORED, "INTERMEDIATE_STATUS")
    notification.refresh_from_db()
    assert notification.status == "Delivered"


def test_an_unrecognised_status_is_a_dead_report():
    _accepted_sms()
    report = delivery_report_receive(report=_report(status="WHATEVER", mapped=UNRECOGNISED))
    assert (report.state, report.reason) == (ReportState.DEAD, "UNRECOGNIZED_SEND_RESULT")


def test_a_report_without_any_identifier_is_a_dead_report():
    report = delivery_report_receive(report=_report(None))
    assert (report.state, report.reason) == (ReportState.DEAD, "INVALID_NOTIFICATION_IDENTIFIER")


def test_a_report_for_an_expired_notification_is_dead_and_changes_nothing():
    notification = _accepted_sms(expires_at=timezone.now() - timedelta(minutes=1))
    report = delivery_report_receive(report=_report())
    assert (report.state, report.reason) == (ReportState.DEAD, "NOTIFICATION_EXPIRED")
    notification.refresh_from_db()
    assert notification.status == "Accepted"


def test_a_report_after_failed_ttl_is_dead_as_expired():
    _accepted_sms(status="Failed_TTL")
    report = delivery_report_receive(report=_report())
    assert (report.state, report.reason) == (ReportState.DEAD, "NOTIFICATION_EXPIRED")


def test_a_report_that_overtakes_its_send_result_is_applied_by_the_retry_sweep():
    notification = sms_notification(status="Sending", claimed_at=timezone.now())
    report = delivery_report_receive(report=_report("late-ref"))
    assert report.state == ReportState.PENDING
    assert report.next_attempt_at > timezone.now()
    # The send result is recorded a moment later ...
    type(notification).objects.filter(id=notification.id).update(
        status="Accepted", provider="smpp", provider_reference="late-ref"
    )
    assert delivery_reports_retry() == 0  # not due yet
    with time_machine.travel(report.next_attempt_at + timedelta(seconds=1), tick=False):
        assert delivery_reports_retry() == 1
    notification.refresh_from_db()
    assert notification.status == "Delivered"


def test_an_unmatched_report_becomes_dead_after_its_retries_and_can_be_reapplied(settings):
    settings.NOTIFICATIONS_REPORT_MATCH_ATTEMPTS = 3
    report = delivery_report_receive(report=_report("nobody"))
    moment = timezone.now()
    for _ in range(3):
        report.refresh_from_db()
        if report.state != ReportState.PENDING:
            break
        moment = report.next_attempt_at + timedelta(seconds=1)
        with time_machine.travel(moment, tick=False):
            delivery_reports_retry()
    report.refresh_from_db()
    assert (report.state, report.reason, report.attempts) == (ReportState.DEAD, "RETRY_THRESHOLD_EXCEEDED", 3)

    # An operator finds the notification was recorded under that reference after all, and re-applies.
    notification = _accepted_sms(provider_reference="nobody")
    delivery_report_reapply(report=report)
    report.refresh_from_db()
    assert report.state == ReportState.APPLIED
    notification.refresh_from_db()
    assert notification.status == "Delivered"


def test_a_report_may_finish_a_notification_that_is_still_sending():
    notification = sms_notification(status="Sending", claimed_at=timezone.now())
    delivery_report_receive(report=_report(None, notification_id=notification.id))
    notification.refresh_from_db()
    assert notification.status == "Delivered"
    assert DeliveryReport.objects.get().state == ReportState.APPLIED
