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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
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
    """Store a report as received and apply it at once (one transaction)."""
    return delivery_reports_receive(reports=[report], now=now)[0]


def _report_row(report: IncomingReport, now: datetime) -> DeliveryReport:
    return DeliveryReport(
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


def _pending_statuses(channel: str) -> frozenset[str]:
    return EMAIL_PENDING_STATUSES if channel == Channel.EMAIL else SMS_PENDING_STATUSES


def _unusable(report: DeliveryReport) -> str | None:
    """The dead reason of a report that names no notification or no status we know; None otherwise."""
    if not report.reference and report.notification_id is None:
        return DeadReason.INVALID_NOTIFICATION_IDENTIFIER
    if not report.intermediate and not report.mapped_status:
        return DeadReason.UNRECOGNIZED_SEND_RESULT
    return None


def _judge(
    report: DeliveryReport, status: str, expires_at: datetime, now: datetime
) -> tuple[str, str] | None:
    """(state, reason) of a matched report that changes nothing; None when it should be applied."""
    if report.intermediate:
        return ReportState.IGNORED, DeadReason.INTERMEDIATE_STATUS
    if status not in _pending_statuses(report.channel):
        if status == "Failed_TTL":
            return ReportState.DEAD, DeadReason.NOTIFICATION_EXPIRED
        if status == report.mapped_status:
            return ReportState.IGNORED, DeadReason.DUPLICATE
        return ReportState.DEAD, DeadReason.FINAL_STATUS_ALREADY_SET
    if expires_at <= now:
        return ReportState.DEAD, DeadReason.NOTIFICATION_EXPIRED
    return None


_FOUND_FIELDS = ("id", "status", "expires_at", "order_id", "provider", "provider_reference")


def _find(rows: Sequence[DeliveryReport]) -> tuple[dict[Any, dict[str, Any]], dict[Any, dict[str, Any]]]:
    """The notifications the reports name: by (channel, id) and by (channel, provider, reference).

    One query per channel for the ids, and one per channel and provider for the references.
    """
    by_id: dict[Any, dict[str, Any]] = {}
    by_reference: dict[Any, dict[str, Any]] = {}
    ids: dict[str, set[uuid.UUID]] = {}
    references: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        if row.notification_id is not None:
            ids.setdefault(row.channel, set()).add(row.notification_id)
        elif row.reference:
            references.setdefault((row.channel, row.provider), set()).add(row.reference)
    for channel, wanted in ids.items():
        for found in _model(channel).objects.filter(id__in=wanted).values(*_FOUND_FIELDS):
            by_id[(channel, found["id"])] = found
    for (channel, provider), refs in references.items():
        matches = _model(channel).objects.filter(provider=provider, provider_reference__in=refs)
        for found in matches.values(*_FOUND_FIELDS):
            by_reference[(channel, provider, found["provider_reference"])] = found
    return by_id, by_reference


def _model(channel: str) -> type[EmailNotification] | type[SmsNotification]:
    return EmailNotification if channel == Channel.EMAIL else SmsNotification


def delivery_reports_receive(
    *, reports: Sequence[IncomingReport], now: datetime | None = None
) -> list[DeliveryReport]:
    """Store reports and apply them together, in one transaction and a fixed number of queries.

    1. The notifications they name, read with one query per channel and kind of identifier.
    2. Each report judged in arrival order by the rules of :func:`delivery_report_apply` (a second
       report for a notification sees the status the first one gave it).
    3. One conditional UPDATE per channel moves the notifications. One whose status changed between our
       read and our update is read and judged once more (as the single-report path does); if it moved
       again, the report waits for the retry sweep.
    4. One INSERT of the report rows with their outcomes, outbox rows for status callbacks in the same
       transaction, and the order completion checks after commit, once per order.
    """
    now = now or timezone.now()
    if not reports:
        return []
    rows = [_report_row(report, now) for report in reports]
    with transaction.atomic():
        by_id, by_reference = _find(rows)
        current: dict[tuple[str, uuid.UUID], str] = {}  # statuses as the reports before have left them
        to_apply: list[tuple[DeliveryReport, dict[str, Any], str]] = []
        for row in rows:
            row.attempts = 1
            dead = _unusable(row)
            if dead is not None:
                _settle(row, ReportState.DEAD, dead, now)
                continue
            if row.notification_id is not None:
                found = by_id.get((row.channel, row.notification_id))
            else:
                found = by_reference.get((row.channel, row.provider, row.reference))
            if found is None:
                _settle_unmatched(row, now)
                continue
            row.notification_id = found["id"]
            key = (row.channel, found["id"])
            status = current.get(key, found["status"])
            verdict = _judge(row, status, found["expires_at"], now)
            if verdict is not None:
                _settle(row, *verdict, now)
                continue
            current[key] = row.mapped_status
            to_apply.append((row, found, status))
        applied: dict[str, list[uuid.UUID]] = {}
        completed_orders: set[uuid.UUID] = set()
        for read in (1, 2):
            raced: list[DeliveryReport] = []
            for channel in {row.channel for row, _, _ in to_apply}:
                items = [item for item in to_apply if item[0].channel == channel]
                moved = _move(channel, items, now)
                for row, found, _ in items:
                    if found["id"] in moved:
                        applied.setdefault(channel, []).append(found["id"])
                        completed_orders.add(found["order_id"])
                        _settle(row, ReportState.APPLIED, "", now)
                    else:
                        raced.append(row)
            to_apply = []
            if read == 1:
                to_apply = _judge_again(raced, now)
            else:
                for row in raced:
                    _settle_unmatched(row, now)
        DeliveryReport.objects.bulk_create(rows)
        for channel, ids in applied.items():
            callbacks_record_notifications(channel=channel, ids=ids)
        if completed_orders:
            transaction.on_commit(partial(orders_check_completion, sorted(completed_orders)))
    for row in rows:
        if row.state == ReportState.DEAD:
            _log_dead(row)
    return rows


def _judge_again(
    rows: list[DeliveryReport], now: datetime
) -> list[tuple[DeliveryReport, dict[str, Any], str]]:
    """Reports whose notification moved under us: read those notifications again and judge anew."""
    fresh: dict[Any, dict[str, Any]] = {}
    for channel in {row.channel for row in rows}:
        ids = [row.notification_id for row in rows if row.channel == channel]
        for found in _model(channel).objects.filter(id__in=ids).values(*_FOUND_FIELDS):
            fresh[(channel, found["id"])] = found
    again = []
    for row in rows:
        found = fresh.get((row.channel, row.notification_id))
        if found is None:
            _settle_unmatched(row, now)
            continue
        verdict = _judge(row, found["status"], found["expires_at"], now)
        if verdict is not None:
            _settle(row, *verdict, now)
        else:
            again.append((row, found, found["status"]))
    return again


def _move(channel: str, items: list[tuple[DeliveryReport, dict[str, Any], str]], now: datetime) -> set[Any]:
    """One conditional UPDATE for all the notifications of ``items``: only those still in the status
    they were judged in move. Returns the ids that moved."""
    table = _model(channel)._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} AS n
               SET status = v.status, status_changed_at = %s, claimed_at = NULL
              FROM unnest(%s::uuid[], %s::text[], %s::text[]) AS v(id, expected, status)
             WHERE n.id = v.id AND n.status = v.expected
            RETURNING n.id
            """,
            [
                now,
                [found["id"] for _, found, _ in items],
                [expected for _, _, expected in items],
                [row.mapped_status for row, _, _ in items],
            ],
        )
        return {row[0] for row in cursor.fetchall()}


def _settle(report: DeliveryReport, state: str, reason: str, now: datetime) -> DeliveryReport:
    """Set a report's outcome in memory (saved in bulk by the caller)."""
    report.state = state
    report.reason = reason
    report.processed_at = now
    report.next_attempt_at = None
    return report


def _settle_unmatched(report: DeliveryReport, now: datetime) -> DeliveryReport:
    if report.attempts >= settings.NOTIFICATIONS_REPORT_MATCH_ATTEMPTS:
        return _settle(report, ReportState.DEAD, DeadReason.RETRY_THRESHOLD_EXCEEDED, now)
    # The report may have overtaken the send result by milliseconds, or the send may be recorded much
    # later; back off exponentially (5 s, 10 s, 20 s, ...).
    delay = settings.NOTIFICATIONS_REPORT_RETRY_BASE_SECONDS * 2 ** (report.attempts - 1)
    report.state = ReportState.PENDING
    report.next_attempt_at = now + timedelta(seconds=delay)
    return report


def delivery_report_apply(*, report: DeliveryReport, now: datetime | None = None) -> DeliveryReport:
    """Apply one stored report to its notification; records the result on the report row."""
    now = now or timezone.now()
    return _apply_one(report, now)


def _apply_one(report: DeliveryReport, now: datetime) -> DeliveryReport:
    report.attempts += 1
    dead = _unusable(report)
    if dead is not None:
        return _finish(report, ReportState.DEAD, dead, now)

    model = _model(report.channel)
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
        verdict = _judge(report, found["status"], found["expires_at"], now)
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
    _settle_unmatched(report, now)
    report.save(
        update_fields=["attempts", "state", "reason", "processed_at", "next_attempt_at", "notification_id"]
    )
    if report.state == ReportState.DEAD:
        _log_dead(report)
    return report


def _finish(report: DeliveryReport, state: str, reason: str, now: datetime) -> DeliveryReport:
    _settle(report, state, reason, now)
    report.save(
        update_fields=["attempts", "state", "reason", "processed_at", "next_attempt_at", "notification_id"]
    )
    if state == ReportState.DEAD:
        _log_dead(report)
    return report


def _log_dead(report: DeliveryReport) -> None:
    logger.warning(
        "dead delivery report %s from %s: %s",
        report.pk,
        report.provider,
        report.reason,
        extra={"notification_id": str(report.notification_id) if report.notification_id else None},
    )


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
