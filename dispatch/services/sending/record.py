"""Recording: classify each outcome and apply it to its row (only while the claim still holds it)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from dispatch.backoff import jittered_backoff_delay
from dispatch.models import AttemptOutcome, Channel, DeliveryAttempt
from dispatch.providers.base import Outcome, Provider
from dispatch.services.callback_outbox import callbacks_record_notifications
from dispatch.services.metric_counters import SendObservation, sends_record
from dispatch.services.sending.claim import Claimed, NotificationModel, _model, provider_pause
from orders.models import EmailStatus, SmsStatus

logger = logging.getLogger(__name__)


# Outcomes recorded per transaction: small enough that a crash loses little bookkeeping, large enough
# that commits do not dominate.
RECORD_CHUNK = 50


@dataclass
class SendSummary:
    claimed: int = 0
    accepted: int = 0
    failed: int = 0
    retried: int = 0
    released: int = 0
    paused_until: datetime | None = None

    def add(self, other: SendSummary) -> None:
        self.claimed += other.claimed
        self.accepted += other.accepted
        self.failed += other.failed
        self.retried += other.retried
        self.released += other.released
        self.paused_until = other.paused_until or self.paused_until


@dataclass
class _Record:
    status: str
    outcome: str
    fields: dict[str, Any] = field(default_factory=dict)
    final: bool = False


def retry_delay(attempts: int) -> float:
    """The wait before the next try of a message after ``attempts`` transient failures (with jitter)."""
    return jittered_backoff_delay(
        attempts,
        base=settings.NOTIFICATIONS_SEND_RETRY_BASE_SECONDS,
        cap=settings.NOTIFICATIONS_SEND_RETRY_MAX_SECONDS,
    )


def _classify(
    outcome: Outcome[Any], *, provider: Provider[Any], claim: Claimed, now: datetime
) -> tuple[_Record, datetime | None]:
    """The new state of one notification, and the provider pause this outcome asks for."""
    if outcome.result is not None:
        if provider.accepted_is_final:
            success, final = (
                EmailStatus.DELIVERED if provider.channel == Channel.EMAIL else SmsStatus.DELIVERED,
                True,
            )
        else:
            success, final = (
                EmailStatus.SUCCEEDED if provider.channel == Channel.EMAIL else SmsStatus.ACCEPTED,
                False,
            )
        return _Record(
            status=success,
            outcome=AttemptOutcome.ACCEPTED,
            fields={"provider_reference": outcome.result.reference, "last_error": "", "not_before": None},
            final=final,
        ), None
    error = outcome.error
    assert error is not None
    if error.retry_after is not None:
        until = now + timedelta(seconds=error.retry_after)
        # Throttling is the provider's problem, not the message's: give the attempt back.
        return _Record(
            status="New",
            outcome=AttemptOutcome.THROTTLED,
            fields={"last_error": error.message, "not_before": until, "attempts": F("attempts") - 1},
        ), until
    if not error.attempted:
        until = now + timedelta(seconds=settings.NOTIFICATIONS_PROVIDER_OUTAGE_PAUSE_SECONDS)
        return _Record(
            status="New",
            outcome=AttemptOutcome.UNAVAILABLE,
            fields={"last_error": error.message, "not_before": until, "attempts": F("attempts") - 1},
        ), until
    if error.permanent:
        return _Record(
            status=error.status or "Failed",
            outcome=AttemptOutcome.PERMANENT,
            fields={"last_error": error.message},
            final=True,
        ), None
    if claim.attempts >= settings.NOTIFICATIONS_SEND_MAX_ATTEMPTS:
        return _Record(
            status="Failed",
            outcome=AttemptOutcome.TRANSIENT,
            fields={"last_error": f"gave up after {claim.attempts} attempts: {error.message}"},
            final=True,
        ), None
    return _Record(
        status="New",
        outcome=AttemptOutcome.TRANSIENT,
        fields={
            "last_error": error.message,
            "not_before": now + timedelta(seconds=retry_delay(claim.attempts)),
        },
    ), None


def _record(
    *,
    provider: Provider[Any],
    channel: str,
    by_id: dict[uuid.UUID, Claimed],
    outcomes: Sequence[Outcome[Any]],
) -> SendSummary:
    now = timezone.now()
    summary = SendSummary()
    updates: list[tuple[Claimed, _Record]] = []
    attempts: list[tuple[Any, ...]] = []  # in _ATTEMPT_COLUMNS order
    pause: tuple[datetime, str] | None = None
    unavailable_logged = False
    observations: list[SendObservation] = []
    for outcome in outcomes:
        claim = by_id[outcome.message.notification_id]
        record, until = _classify(outcome, provider=provider, claim=claim, now=now)
        updates.append((claim, record))
        if until is not None and (pause is None or until > pause[0]):
            pause = (until, outcome.error.message if outcome.error else "")
        if record.outcome == AttemptOutcome.ACCEPTED:
            summary.accepted += 1
        elif record.final:
            summary.failed += 1
        elif record.outcome == AttemptOutcome.TRANSIENT:
            summary.retried += 1
        else:
            summary.released += 1
        # Messages that never reached the provider leave no attempt row, except the first one of a
        # dead connection, so the admin shows why the batch went back.
        error = outcome.error
        if error is not None and not error.attempted:
            if error.retry_after is not None or unavailable_logged:
                continue
            unavailable_logged = True
        accepted_at = outcome.started_at + timedelta(seconds=outcome.duration)
        observations.append(
            SendObservation(
                outcome=record.outcome,
                duration=outcome.duration,
                latency=(accepted_at - claim.due_at).total_seconds()
                if claim.due_at is not None and outcome.result is not None
                else None,
            )
        )
        attempts.append(
            (
                channel,
                claim.message.notification_id,
                claim.order_id,
                claim.attempts,
                provider.name,
                str(record.outcome),
                str(record.status),
                outcome.result.reference if outcome.result else None,
                outcome.started_at,
                int(outcome.duration * 1000),
                outcome.error.message if outcome.error else "",
                (outcome.result.raw if outcome.result else outcome.error.raw if outcome.error else "")[
                    :10000
                ],
            )
        )
    model = _model(channel)
    # Only orders with a callback URL need the outbox query (most have none).
    final_ids = [
        claim.message.notification_id
        for claim, record in updates
        if record.final and claim.callback is not False
    ]
    try:
        with transaction.atomic():
            _apply(model, provider.name, updates, now=now, savepoints=False)
            _attempts_insert(attempts)
            callbacks_record_notifications(channel=channel, ids=final_ids)
    except IntegrityError:
        # A provider reused a message id (seen with SMSCs that recycle ids): apply row by row, and keep
        # the colliding notification's outcome without the reference.
        with transaction.atomic():
            _apply(model, provider.name, updates, now=now, savepoints=True)
            _attempts_insert(attempts)
            callbacks_record_notifications(channel=channel, ids=final_ids)
    if pause is not None:
        provider_pause(key=provider.pause_key, until=pause[0], reason=pause[1])
        summary.paused_until = pause[0]
        logger.warning("provider %s paused until %s: %s", provider.pause_key, pause[0].isoformat(), pause[1])
    sends_record(channel=channel, provider=provider.name, observations=observations)
    orders_check_completion({claim.order_id for claim, record in updates if record.final})
    return summary


# The columns of an attempt row as the recording writes them (the id is the table's own sequence).
_ATTEMPT_COLUMNS = (
    "channel",
    "notification_id",
    "order_id",
    "attempt",
    "provider",
    "outcome",
    "status",
    "provider_reference",
    "started_at",
    "duration_ms",
    "error",
    "raw_response",
)


def _attempts_insert(rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert a chunk's attempt rows with one COPY.

    The ORM's ``bulk_create`` built a multi-row INSERT and quoted its 600 values in Python (the client
    binds parameters): a third of the recording thread's time, which holds the sender's GIL. COPY's rows
    are formatted by psycopg's C row writer and parsed by PostgreSQL without a plan.
    """
    if not rows:
        return
    table = connection.ops.quote_name(DeliveryAttempt._meta.db_table)
    columns = ", ".join(_ATTEMPT_COLUMNS)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _apply(
    model: NotificationModel,
    provider_name: str,
    updates: Iterable[tuple[Claimed, _Record]],
    *,
    now: datetime,
    savepoints: bool,
) -> None:
    if not savepoints:
        # Acceptances are nearly every outcome: one UPDATE per claim for all of them, not one per row.
        updates = _apply_accepted(model, provider_name, updates, now=now)
    for claim, record in updates:
        values: dict[str, Any] = {
            "status": record.status,
            "status_changed_at": now,
            "claimed_at": None,
            "claim_id": None,
            "lease_until": None,
            "provider": provider_name,
            **record.fields,
        }
        rows = model.objects.filter(
            id=claim.message.notification_id, status="Sending", claim_id=claim.claim_id
        )
        if savepoints:
            try:
                with transaction.atomic():
                    updated = rows.update(**values)
            except IntegrityError:
                logger.error(
                    "provider reference %s already used; recorded without it",
                    values.get("provider_reference"),
                    extra={"notification_id": str(claim.message.notification_id)},
                )
                values["provider_reference"] = None
                updated = rows.update(**values)
        else:
            updated = rows.update(**values)
        if not updated:
            # The stuck-send sweep released it, or a delivery report already finished it.
            logger.warning(
                "notification %s was no longer ours to record (%s)",
                claim.message.notification_id,
                record.status,
                extra={"notification_id": str(claim.message.notification_id)},
            )


# The fields an acceptance sets (see _classify); anything else goes through the row-by-row path.
_ACCEPTED_FIELDS = frozenset({"provider_reference", "last_error", "not_before"})


def _apply_accepted(
    model: NotificationModel,
    provider_name: str,
    updates: Iterable[tuple[Claimed, _Record]],
    *,
    now: datetime,
) -> list[tuple[Claimed, _Record]]:
    """Record the plain acceptances with one UPDATE per (claim, status); return the other updates.

    The same conditional UPDATE as the row-by-row path (still ours: Sending with our ``claim_id``),
    joined to the ids and references. A duplicate provider reference fails the whole statement with
    IntegrityError, and the caller redoes the chunk row by row with savepoints.
    """
    groups: dict[tuple[str, uuid.UUID], list[tuple[Claimed, str]]] = {}
    rest: list[tuple[Claimed, _Record]] = []
    for claim, record in updates:
        fields = record.fields
        if (
            record.outcome == AttemptOutcome.ACCEPTED
            and fields.keys() == _ACCEPTED_FIELDS
            and fields["last_error"] == ""
            and fields["not_before"] is None
            and isinstance(fields["provider_reference"], str)
        ):
            groups.setdefault((record.status, claim.claim_id), []).append(
                (claim, fields["provider_reference"])
            )
        else:
            rest.append((claim, record))
    table = model._meta.db_table
    for (status, claim_id), rows in groups.items():
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE {table} AS n
                   SET status = %s, status_changed_at = %s, claimed_at = NULL, claim_id = NULL,
                       lease_until = NULL, provider = %s, provider_reference = v.reference,
                       last_error = '', not_before = NULL
                  FROM unnest(%s::uuid[], %s::text[]) AS v(id, reference)
                 WHERE n.id = v.id AND n.status = 'Sending' AND n.claim_id = %s
                RETURNING n.id
                """,
                [
                    status,
                    now,
                    provider_name,
                    [claim.message.notification_id for claim, _ in rows],
                    [reference for _, reference in rows],
                    claim_id,
                ],
            )
            recorded = {row[0] for row in cursor.fetchall()}
        for claim, _ in rows:
            if claim.message.notification_id not in recorded:
                # The stuck-send sweep released it, or a delivery report already finished it.
                logger.warning(
                    "notification %s was no longer ours to record (%s)",
                    claim.message.notification_id,
                    status,
                    extra={"notification_id": str(claim.message.notification_id)},
                )
    return rest


def orders_check_completion(order_ids: Iterable[uuid.UUID]) -> None:
    """Let the order completion check run for orders that just got a final notification status."""
    ids = list(order_ids)
    if not ids:
        return
    try:
        from dispatch.services.completion import order_complete_if_done
    except ImportError:  # the pipeline's completion module is not installed yet
        return
    for order_id in ids:
        try:
            order_complete_if_done(order_id=order_id)
        except Exception:
            # Completion is re-checked by its own sweep; a failure here must not lose the send results.
            logger.exception("order completion check failed", extra={"order_id": str(order_id)})
