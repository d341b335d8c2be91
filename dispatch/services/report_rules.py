"""The rules both report paths apply: which reports are unusable, which change nothing, when to retry.

A report is judged against its notification's current status (see :mod:`dispatch.services.reports` for
the outcomes); the verdict is set on the row in memory and saved by the caller.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings

from dispatch.backoff import backoff_delay
from dispatch.models import Channel, DeadReason, DeliveryReport, ReportState
from orders.models import EMAIL_PENDING_STATUSES, SMS_PENDING_STATUSES, EmailNotification, SmsNotification

# Dead reports are logged under the report service's name, wherever they were judged.
logger = logging.getLogger("dispatch.services.reports")

# The notification columns a report is judged and applied by.
FOUND_FIELDS = ("id", "status", "expires_at", "order_id", "provider", "provider_reference")


def pending_statuses(channel: str) -> frozenset[str]:
    return EMAIL_PENDING_STATUSES if channel == Channel.EMAIL else SMS_PENDING_STATUSES


def report_unusable(report: DeliveryReport) -> str | None:
    """The dead reason of a report that names no notification or no status we know; None otherwise."""
    if not report.reference and report.notification_id is None:
        return DeadReason.INVALID_NOTIFICATION_IDENTIFIER
    if not report.intermediate and not report.mapped_status:
        return DeadReason.UNRECOGNIZED_SEND_RESULT
    return None


def report_judge(
    report: DeliveryReport, status: str, expires_at: datetime, now: datetime
) -> tuple[str, str] | None:
    """(state, reason) of a matched report that changes nothing; None when it should be applied."""
    if report.intermediate:
        return ReportState.IGNORED, DeadReason.INTERMEDIATE_STATUS
    if status not in pending_statuses(report.channel):
        if status == "Failed_TTL":
            return ReportState.DEAD, DeadReason.NOTIFICATION_EXPIRED
        if status == report.mapped_status:
            return ReportState.IGNORED, DeadReason.DUPLICATE
        return ReportState.DEAD, DeadReason.FINAL_STATUS_ALREADY_SET
    if expires_at <= now:
        return ReportState.DEAD, DeadReason.NOTIFICATION_EXPIRED
    return None


def notification_model(channel: str) -> type[EmailNotification] | type[SmsNotification]:
    return EmailNotification if channel == Channel.EMAIL else SmsNotification


def report_settle(report: DeliveryReport, state: str, reason: str, now: datetime) -> DeliveryReport:
    """Set a report's outcome in memory (saved in bulk by the caller)."""
    report.state = state
    report.reason = reason
    report.processed_at = now
    report.next_attempt_at = None
    return report


def report_settle_unmatched(report: DeliveryReport, now: datetime) -> DeliveryReport:
    if report.attempts >= settings.NOTIFICATIONS_REPORT_MATCH_ATTEMPTS:
        return report_settle(report, ReportState.DEAD, DeadReason.RETRY_THRESHOLD_EXCEEDED, now)
    # The report may have overtaken the send result by milliseconds, or the send may be recorded much
    # later; back off exponentially (5 s, 10 s, 20 s, ...).
    delay = backoff_delay(report.attempts, base=settings.NOTIFICATIONS_REPORT_RETRY_BASE_SECONDS)
    report.state = ReportState.PENDING
    report.next_attempt_at = now + timedelta(seconds=delay)
    return report


def report_log_dead(report: DeliveryReport) -> None:
    logger.warning(
        "dead delivery report %s from %s: %s",
        report.pk,
        report.provider,
        report.reason,
        extra={"notification_id": str(report.notification_id) if report.notification_id else None},
    )
