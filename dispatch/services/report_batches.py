"""Receiving delivery reports in batches: store them and apply them together in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from dispatch.models import DeliveryReport, ReportState
from dispatch.providers.base import IncomingReport
from dispatch.services.callback_outbox import callbacks_record_notifications
from dispatch.services.report_rules import (
    FOUND_FIELDS,
    notification_model,
    report_judge,
    report_log_dead,
    report_settle,
    report_settle_unmatched,
    report_unusable,
)
from dispatch.services.sending.record import orders_check_completion


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
        for found in notification_model(channel).objects.filter(id__in=wanted).values(*FOUND_FIELDS):
            by_id[(channel, found["id"])] = found
    for (channel, provider), refs in references.items():
        matches = notification_model(channel).objects.filter(provider=provider, provider_reference__in=refs)
        for found in matches.values(*FOUND_FIELDS):
            by_reference[(channel, provider, found["provider_reference"])] = found
    return by_id, by_reference


def delivery_reports_receive(
    *, reports: Sequence[IncomingReport], now: datetime | None = None
) -> list[DeliveryReport]:
    """Store reports and apply them together, in one transaction and a fixed number of queries.

    1. The notifications they name, read with one query per channel and kind of identifier.
    2. Each report judged in arrival order by the rules of
       :func:`dispatch.services.reports.delivery_report_apply` (a second report for a notification sees
       the status the first one gave it).
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
            dead = report_unusable(row)
            if dead is not None:
                report_settle(row, ReportState.DEAD, dead, now)
                continue
            if row.notification_id is not None:
                found = by_id.get((row.channel, row.notification_id))
            else:
                found = by_reference.get((row.channel, row.provider, row.reference))
            if found is None:
                report_settle_unmatched(row, now)
                continue
            row.notification_id = found["id"]
            key = (row.channel, found["id"])
            status = current.get(key, found["status"])
            verdict = report_judge(row, status, found["expires_at"], now)
            if verdict is not None:
                report_settle(row, *verdict, now)
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
                        report_settle(row, ReportState.APPLIED, "", now)
                    else:
                        raced.append(row)
            to_apply = []
            if read == 1:
                to_apply = _judge_again(raced, now)
            else:
                for row in raced:
                    report_settle_unmatched(row, now)
        DeliveryReport.objects.bulk_create(rows)
        for channel, ids in applied.items():
            callbacks_record_notifications(channel=channel, ids=ids)
        if completed_orders:
            transaction.on_commit(partial(orders_check_completion, sorted(completed_orders)))
    for row in rows:
        if row.state == ReportState.DEAD:
            report_log_dead(row)
    return rows


def _judge_again(
    rows: list[DeliveryReport], now: datetime
) -> list[tuple[DeliveryReport, dict[str, Any], str]]:
    """Reports whose notification moved under us: read those notifications again and judge anew."""
    fresh: dict[Any, dict[str, Any]] = {}
    for channel in {row.channel for row in rows}:
        ids = [row.notification_id for row in rows if row.channel == channel]
        for found in notification_model(channel).objects.filter(id__in=ids).values(*FOUND_FIELDS):
            fresh[(channel, found["id"])] = found
    again = []
    for row in rows:
        found = fresh.get((row.channel, row.notification_id))
        if found is None:
            report_settle_unmatched(row, now)
            continue
        verdict = report_judge(row, found["status"], found["expires_at"], now)
        if verdict is not None:
            report_settle(row, *verdict, now)
        else:
            again.append((row, found, found["status"]))
    return again


def _move(channel: str, items: list[tuple[DeliveryReport, dict[str, Any], str]], now: datetime) -> set[Any]:
    """One conditional UPDATE for all the notifications of ``items``: only those still in the status
    they were judged in move. Returns the ids that moved."""
    table = notification_model(channel)._meta.db_table
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
