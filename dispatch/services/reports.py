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

from core.postgresql.prepared import prepared_cursor
from dispatch.models import DeliveryReport, ReportState, SandboxMessage
from dispatch.providers.base import IncomingReport
from dispatch.services.callback_outbox import callbacks_record_notifications
from dispatch.services.report_batches import _report_row, delivery_reports_receive
from dispatch.services.report_rules import (
    notification_model,
    pending_statuses,
    report_judge,
    report_log_dead,
    report_settle,
    report_settle_unmatched,
    report_unusable,
)
from dispatch.services.sending.record import orders_check_completion
from orders.models import (
    EMAIL_PENDING_STATUSES,
    SMS_PENDING_STATUSES,
    EmailNotification,
    Order,
    OrderStatus,
    SmsNotification,
)


def delivery_report_receive(*, report: IncomingReport, now: datetime | None = None) -> DeliveryReport:
    """Store a report as received and apply it at once: one statement when it simply applies.

    A report that moves a pending, unexpired notification of an order without a status callback (nearly
    every report) is applied and stored by one statement (:func:`_apply_alone`); any other (a callback to
    record, a duplicate, an expired or unknown notification, an intermediate or unrecognised status) takes
    the batch path with its full rules, in one transaction. The outcomes are the same either way.
    """
    now = now or timezone.now()
    row = _report_row(report, now)
    if _apply_alone(row, now):
        return row
    return delivery_reports_receive(reports=[report], now=now)[0]


def _apply_alone(row: DeliveryReport, now: datetime) -> bool:
    """Apply and store a report with one statement (autocommit); False, changing nothing, when the report
    needs the full rules.

    The UPDATE takes the notification only in a status :func:`report_judge` would apply the report from
    (pending and unexpired), and only when its order has no status callback (whose outbox row must be
    written in the same transaction); the report row is inserted only when the UPDATE moved it. The same
    statement says whether the order may now be complete (Processed, no other pending notification), so
    the completion check runs only then.
    """
    if report_unusable(row) is not None or row.intermediate:
        return False
    params = {
        "notification_id": row.notification_id,
        "provider": row.provider,
        "reference": row.reference,
        "channel": row.channel,
        "provider_status": row.provider_status,
        "status": row.mapped_status,
        "raw": row.raw,
        "state": ReportState.APPLIED,
        "now": now,
        "pending": sorted(pending_statuses(row.channel)),
        "email_pending": sorted(EMAIL_PENDING_STATUSES),
        "sms_pending": sorted(SMS_PENDING_STATUSES),
        "processed": OrderStatus.PROCESSED,
    }
    # Prepared on the connection: planning took twice as long as running the one-report statement.
    with prepared_cursor() as cursor:
        cursor.execute(_apply_alone_sql(row.channel, by_id=row.notification_id is not None), params)
        found = cursor.fetchone()
    if found is None:
        return False
    notification_id, order_id, report_id, may_be_done = found
    row.pk, row.notification_id, row.attempts = report_id, notification_id, 1
    report_settle(row, ReportState.APPLIED, "", now)
    if may_be_done and row.mapped_status not in pending_statuses(row.channel):
        transaction.on_commit(partial(orders_check_completion, [order_id]))
    return True


def _apply_alone_sql(channel: str, *, by_id: bool) -> str:
    """The one-report statement of :func:`_apply_alone`, matching by our id or by the provider's."""
    model = notification_model(channel)
    table, orders, reports = model._meta.db_table, Order._meta.db_table, DeliveryReport._meta.db_table
    if by_id:
        match = "n.id = %(notification_id)s"
    else:
        match = "n.provider = %(provider)s AND n.provider_reference = %(reference)s"
    return f"""
        WITH moved AS (
            UPDATE {table} AS n
               SET status = %(status)s, status_changed_at = %(now)s, claimed_at = NULL
              FROM {orders} AS o
             WHERE {match} AND o.id = n.order_id
               AND n.status = ANY(%(pending)s) AND n.expires_at > %(now)s
               AND COALESCE(o.status_callback_url, '') = ''
            RETURNING n.id, n.order_id, o.status AS order_status
        ), stored AS (
            INSERT INTO {reports} (channel, provider, reference, notification_id, provider_status,
                                   mapped_status, intermediate, raw, state, reason, received_at,
                                   processed_at, attempts, next_attempt_at)
            SELECT %(channel)s, %(provider)s, %(reference)s, moved.id, %(provider_status)s, %(status)s,
                   false, %(raw)s, %(state)s, '', %(now)s, %(now)s, 1, NULL
              FROM moved
            RETURNING id
        )
        SELECT moved.id, moved.order_id, stored.id,
               moved.order_status = %(processed)s
               AND ({_other_pending(EmailNotification, "email_pending")}) IS NULL
               AND ({_other_pending(SmsNotification, "sms_pending")}) IS NULL
          FROM moved, stored
        """


def _other_pending(model: type[EmailNotification] | type[SmsNotification], statuses: str) -> str:
    """A pending notification of the moved one's order other than it, or NULL: the completion probe.

    A scalar subquery in the (order, status) index's order, not NOT EXISTS: PostgreSQL drops ORDER BY
    and LIMIT inside EXISTS and may then scan the whole table for it. Its statistics count a few
    orders with many notifications each (right after a large send, before or after ANALYZE), so it
    expects a sequential scan to meet the order's rows at once; a report for any other order then read
    every row of the table, and the cost of a report grew with what had been sent before it. Ordered as
    the index is, only the index can answer without sorting every match, which pins that plan.
    """
    table = model._meta.db_table
    return (
        f"SELECT p.status FROM {table} AS p"
        f" WHERE p.order_id = moved.order_id AND p.status = ANY(%({statuses})s) AND p.id <> moved.id"
        " ORDER BY p.order_id, p.status LIMIT 1"
    )


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
