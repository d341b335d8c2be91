"""Delivery reports: store every report as received, then apply it to its notification.

A report is matched by our notification id when the provider echoes it, otherwise by the provider's
message id (``provider`` + ``provider_reference``). Application is a conditional UPDATE from a pending
status, so duplicates and out-of-order reports are harmless and a final status is never overwritten.
Nothing is dropped: a report that cannot be applied is kept with a reason (the dead delivery reports of
the reference service), and can be re-applied from the admin.

* no identifier → dead ``INVALID_NOTIFICATION_IDENTIFIER``
* a provider status we do not know → dead ``UNRECOGNIZED_SEND_RESULT``
* no notification yet (the report overtook the send result) → pending, retried with backoff, then dead
  ``RETRY_THRESHOLD_EXCEEDED``
* the notification expired before the report came → dead ``NOTIFICATION_EXPIRED``
* the notification already has another final status → dead ``FINAL_STATUS_ALREADY_SET``
* the same final status again → ignored ``DUPLICATE``; progress ("sent", "ENROUTE") → ignored
  ``INTERMEDIATE_STATUS``
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dispatch.models import Channel, DeadReason, DeliveryReport, ReportState, SandboxMessage
from dispatch.providers.base import ReportStatus
from dispatch.services.callbacks import callbacks_record_notifications
from dispatch.services.sending import orders_check_completion
from orders.models import (
    EMAIL_PENDING_STATUSES,
    SMS_PENDING_STATUSES,
    EmailNotification,
    SmsNotification,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IncomingReport:
    channel: str
    provider: str
    provider_status: str
    mapped: ReportStatus
    reference: str | None = None
    notification_id: uuid.UUID | None = None
    raw: str = ""


def delivery_report_receive(*, report: IncomingReport, now: datetime | None = None) -> DeliveryReport:
    """Store a report as received and apply it at once."""
    now = now or timezone.now()
    row = DeliveryReport.objects.create(
        channel=report.channel,
        provider=report.provider,
        reference=(report.reference or None) and report.reference[:200],
        notification_id=report.notification_id,
        provider_status=report.provider_status[:100],
        mapped_status=report.mapped.status or "",
        intermediate=report.mapped.intermediate,
        raw=report.raw,
        received_at=now,
    )
    return delivery_report_apply(report=row, now=now)


def delivery_report_apply(*, report: DeliveryReport, now: datetime | None = None) -> DeliveryReport:
    """Apply one stored report to its notification; records the result on the report row."""
    now = now or timezone.now()
    report.attempts += 1
    if not report.reference and report.notification_id is None:
        return _finish(report, ReportState.DEAD, DeadReason.INVALID_NOTIFICATION_IDENTIFIER, now)
    if not report.intermediate and not report.mapped_status:
        return _finish(report, ReportState.DEAD, DeadReason.UNRECOGNIZED_SEND_RESULT, now)

    model = EmailNotification if report.channel == Channel.EMAIL else SmsNotification
    pending = EMAIL_PENDING_STATUSES if report.channel == Channel.EMAIL else SMS_PENDING_STATUSES
    lookup = model.objects.all()
    if report.notification_id is not None:
        lookup = lookup.filter(id=report.notification_id)
    else:
        lookup = lookup.filter(provider=report.provider, provider_reference=report.reference)
    # Two reads at most: if the status moves between our read and our update, read once more.
    for _ in range(2):
        found = lookup.values("id", "status", "expires_at", "order_id").first()
        if found is None:
            return _unmatched(report, now)
        report.notification_id = found["id"]
        if report.intermediate:
            return _finish(report, ReportState.IGNORED, DeadReason.INTERMEDIATE_STATUS, now)
        if found["status"] not in pending:
            if found["status"] == "Failed_TTL":
                return _finish(report, ReportState.DEAD, DeadReason.NOTIFICATION_EXPIRED, now)
            if found["status"] == report.mapped_status:
                return _finish(report, ReportState.IGNORED, DeadReason.DUPLICATE, now)
            return _finish(report, ReportState.DEAD, DeadReason.FINAL_STATUS_ALREADY_SET, now)
        if found["expires_at"] <= now:
            return _finish(report, ReportState.DEAD, DeadReason.NOTIFICATION_EXPIRED, now)
        with transaction.atomic():
            updated = model.objects.filter(id=found["id"], status=found["status"]).update(
                status=report.mapped_status, status_changed_at=now, claimed_at=None
            )
            if updated:
                callbacks_record_notifications(channel=report.channel, ids=[found["id"]])
        if updated:
            transaction.on_commit(partial(orders_check_completion, [found["order_id"]]))
            return _finish(report, ReportState.APPLIED, "", now)
    return _unmatched(report, now)


def _unmatched(report: DeliveryReport, now: datetime) -> DeliveryReport:
    if report.attempts >= settings.NOTIFICATIONS_REPORT_MATCH_ATTEMPTS:
        return _finish(report, ReportState.DEAD, DeadReason.RETRY_THRESHOLD_EXCEEDED, now)
    # The report may have overtaken the send result by milliseconds, or the send may be recorded much
    # later; back off exponentially (5 s, 10 s, 20 s, ...).
    delay = settings.NOTIFICATIONS_REPORT_RETRY_BASE_SECONDS * 2 ** (report.attempts - 1)
    report.state = ReportState.PENDING
    report.next_attempt_at = now + timedelta(seconds=delay)
    report.save(update_fields=["attempts", "state", "next_attempt_at", "notification_id"])
    return report


def _finish(report: DeliveryReport, state: str, reason: str, now: datetime) -> DeliveryReport:
    report.state = state
    report.reason = reason
    report.processed_at = now
    report.next_attempt_at = None
    report.save(
        update_fields=["attempts", "state", "reason", "processed_at", "next_attempt_at", "notification_id"]
    )
    if state == ReportState.DEAD:
        logger.warning(
            "dead delivery report %s from %s: %s",
            report.pk,
            report.provider,
            reason,
            extra={"notification_id": str(report.notification_id) if report.notification_id else None},
        )
    return report


def delivery_report_reapply(*, report: DeliveryReport, now: datetime | None = None) -> DeliveryReport:
    """Try a dead (or pending) report again, with a fresh retry budget: the admin's "re-apply"."""
    if report.state not in (ReportState.DEAD, ReportState.PENDING):
        return report
    report.attempts = 0
    report.reason = ""
    return delivery_report_apply(report=report, now=now)


def delivery_reports_retry(*, now: datetime | None = None, limit: int = 500) -> int:
    """The report sweep: apply pending reports whose next try is due."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            DeliveryReport.objects.select_for_update(skip_locked=True)
            .filter(state=ReportState.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at")[:limit]
        )
        for report in due:
            delivery_report_apply(report=report, now=now)
    return len(due)


def sandbox_reports_deliver(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Deliver the sandbox's due delivery reports through the same path as real providers."""
    from dispatch.providers.sandbox import map_report

    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            SandboxMessage.objects.select_for_update(skip_locked=True)
            .filter(reported_at__isnull=True, report_due_at__lte=now)
            .order_by("report_due_at")[:limit]
        )
        for message in due:
            delivery_report_receive(
                report=IncomingReport(
                    channel=message.channel,
                    provider="sandbox",
                    provider_status=message.report_status,
                    mapped=map_report(message.channel, message.report_status),
                    reference=message.reference,
                    raw=json.dumps({"reference": message.reference, "status": message.report_status}),
                ),
                now=now,
            )
        SandboxMessage.objects.filter(id__in=[message.id for message in due]).update(reported_at=now)
    return len(due)
