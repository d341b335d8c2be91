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
from datetime import datetime
from functools import partial

from django.db import transaction
from django.utils import timezone

from dispatch.models import DeliveryReport, ReportState, SandboxMessage
from dispatch.providers.base import IncomingReport
from dispatch.services.callback_outbox import callbacks_record_notifications
from dispatch.services.report_batches import delivery_reports_receive
from dispatch.services.report_rules import (
    notification_model,
    report_judge,
    report_log_dead,
    report_settle,
    report_settle_unmatched,
    report_unusable,
)
from dispatch.services.sending.record import orders_check_completion


def delivery_report_receive(*, report: IncomingReport, now: datetime | None = None) -> DeliveryReport:
    """Store a report as received and apply it at once (one transaction)."""
    return delivery_reports_receive(reports=[report], now=now)[0]


def delivery_report_handle(report: IncomingReport) -> None:
    """Store and apply one report a provider adapter received on its own connection (an SMPP bind).

    The adapters' report handler (wired by the dispatch app); raises when the database is down, so the
    adapter can ask the provider to deliver the report again.
    """
    delivery_report_receive(report=report)


def delivery_report_apply(*, report: DeliveryReport, now: datetime | None = None) -> DeliveryReport:
    """Apply one stored report to its notification; records the result on the report row."""
    now = now or timezone.now()
    return _apply_one(report, now)


def _apply_one(report: DeliveryReport, now: datetime) -> DeliveryReport:
    report.attempts += 1
    dead = report_unusable(report)
    if dead is not None:
        return _finish(report, ReportState.DEAD, dead, now)

    model = notification_model(report.channel)
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
        verdict = report_judge(report, found["status"], found["expires_at"], now)
        if verdict is not None:
            return _finish(report, *verdict, now)
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
    report_settle_unmatched(report, now)
    report.save(
        update_fields=["attempts", "state", "reason", "processed_at", "next_attempt_at", "notification_id"]
    )
    if report.state == ReportState.DEAD:
        report_log_dead(report)
    return report


def _finish(report: DeliveryReport, state: str, reason: str, now: datetime) -> DeliveryReport:
    report_settle(report, state, reason, now)
    report.save(
        update_fields=["attempts", "state", "reason", "processed_at", "next_attempt_at", "notification_id"]
    )
    if state == ReportState.DEAD:
        report_log_dead(report)
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
        delivery_reports_receive(
            reports=[
                IncomingReport(
                    channel=message.channel,
                    provider="sandbox",
                    provider_status=message.report_status,
                    mapped=map_report(message.channel, message.report_status),
                    reference=message.reference,
                    raw=json.dumps({"reference": message.reference, "status": message.report_status}),
                )
                for message in due
            ],
            now=now,
        )
        SandboxMessage.objects.filter(id__in=[message.id for message in due]).update(reported_at=now)
    return len(due)
