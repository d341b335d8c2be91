"""Sending: claim New notifications in batches, hand them to the provider, record every outcome.

1. Claim: one short transaction takes up to ``NOTIFICATIONS_SEND_BATCH_SIZE`` New, unexpired rows whose
   backoff has passed (``FOR UPDATE SKIP LOCKED``, so workers never wait on each other), moves them to
   Sending with ``claimed_at``, ``attempts + 1``, a new ``claim_id`` and a lease
   (``NOTIFICATIONS_SEND_LEASE_SECONDS``), and commits. Nothing is claimed while the provider is paused
   (throttling, outage), and Daytime SMS only while the send window is open.
2. Send: outside any transaction, over the provider's reused connection. A heartbeat thread renews the
   lease (one UPDATE for the batch) every third of it, only in batches that last that long; before each
   message the sender checks that the claim still holds the rest of the batch, and stops if not.
3. Record: every ``RECORD_CHUNK`` outcomes, one short transaction applies conditional UPDATEs
   (``status = Sending AND claim_id = <our claim>``, so a row the stuck-send sweep already gave to
   another worker is never overwritten) and inserts the DeliveryAttempt rows.

A claim whose lease has run out (its worker was killed) goes back to New with the stuck-send sweep, so it
waits about a lease, not ``NOTIFICATIONS_SEND_STUCK_AFTER_SECONDS``. Only the messages in flight at the
kill (handed to the provider, not recorded) can be sent twice; they carry the notification id.

Failures: permanent → the provider's final ``Failed_*`` at once; transient → back to New with
exponential backoff and jitter, ``Failed`` once ``NOTIFICATIONS_SEND_MAX_ATTEMPTS`` are used;
throttled or unreachable provider → back to New without spending the budget, provider paused.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from dispatch.models import AttemptOutcome, Channel, DeliveryAttempt, ProviderPause
from dispatch.providers import email_provider, sms_provider
from dispatch.providers.base import EmailMessage, Outcome, Provider, SmsMessage
from dispatch.services.callbacks import callbacks_record_notifications
from dispatch.services.failover import sms_provider_choose, sms_providers
from dispatch.services.metrics import SendObservation, counters_flush, sends_record
from dispatch.services.window import sms_send_window_is_open
from dispatch.shutdown import stop_requested
from orders.models import (
    EmailNotification,
    EmailStatus,
    Order,
    SendingTimePolicy,
    SmsNotification,
    SmsStatus,
)

logger = logging.getLogger(__name__)

# Outcomes recorded per transaction: small enough that a crash loses little bookkeeping, large enough
# that commits do not dominate.
RECORD_CHUNK = 50

NotificationModel = type[EmailNotification] | type[SmsNotification]


@dataclass(frozen=True)
class Claimed:
    message: EmailMessage | SmsMessage
    order_id: uuid.UUID
    attempts: int
    claimed_at: datetime
    # The claim holding the row: every write of the claimer is conditional on it.
    claim_id: uuid.UUID
    # When the order wanted it sent (its send time, or its registration when later): the send latency's
    # start in /metrics.
    due_at: datetime | None = None
    # Whether its order has a status callback URL (None: unknown, look it up when it becomes final).
    callback: bool | None = None


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


def _model(channel: str) -> NotificationModel:
    return EmailNotification if channel == Channel.EMAIL else SmsNotification


# --- pauses -------------------------------------------------------------------------------------------


def provider_pause(*, key: str, until: datetime, reason: str) -> None:
    """Pause claims for a provider until ``until``; an existing longer pause is kept."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {ProviderPause._meta.db_table} (key, paused_until, reason, updated_at)
            VALUES (%s, %s, %s, %s)
            ON CONFLICT (key) DO UPDATE SET
                paused_until = GREATEST({ProviderPause._meta.db_table}.paused_until, EXCLUDED.paused_until),
                reason = EXCLUDED.reason,
                updated_at = EXCLUDED.updated_at
            """,
            [key, until, reason[:1000], timezone.now()],
        )


def provider_paused_until(*, key: str, now: datetime) -> datetime | None:
    pause = ProviderPause.objects.filter(key=key, paused_until__gt=now).first()
    return pause.paused_until if pause else None


# --- claim --------------------------------------------------------------------------------------------


def notifications_claim(
    *, channel: str, pause_key: str, limit: int, now: datetime | None = None
) -> list[Claimed]:
    """Move up to ``limit`` sendable New notifications to Sending and return them (committed)."""
    now = now or timezone.now()
    model: Any = _model(channel)  # the two notification models share every field used here
    with transaction.atomic():
        if provider_paused_until(key=pause_key, now=now) is not None:
            return []
        # `of=("self",)`: lock only the notification rows, never the shared order or template rows.
        queryset = (
            model.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status="New", expires_at__gt=now)
            .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
        )
        if channel == Channel.SMS and not sms_send_window_is_open(now):
            queryset = queryset.exclude(sending_time_policy=SendingTimePolicy.DAYTIME)
        rows = list(queryset.order_by("created_at", "id")[:limit])
        if not rows:
            return []
        # A batch's rows mostly share one order: read each order and its template once, not per row
        # (select_related built an order and a template object for every one of up to 500 rows).
        template = "email_template" if channel == Channel.EMAIL else "sms_template"
        orders = Order.objects.select_related(template).in_bulk({row.order_id for row in rows})
        for row in rows:
            row.order = orders[row.order_id]
        claim_id = uuid.uuid4()
        model.objects.filter(id__in=[row.id for row in rows]).update(
            status="Sending",
            claimed_at=now,
            claim_id=claim_id,
            lease_until=now + timedelta(seconds=settings.NOTIFICATIONS_SEND_LEASE_SECONDS),
            status_changed_at=now,
            attempts=F("attempts") + 1,
        )
    return [
        Claimed(
            message=_message(row, attempt=row.attempts + 1),
            order_id=row.order_id,
            attempts=row.attempts + 1,
            claimed_at=now,
            claim_id=claim_id,
            due_at=max(row.order.requested_send_time, row.order.created_at),
            callback=bool(row.order.status_callback_url),
        )
        for row in rows
    ]


def _message(row: EmailNotification | SmsNotification, *, attempt: int) -> EmailMessage | SmsMessage:
    order = row.order
    if isinstance(row, EmailNotification):
        template = order.email_template
        return EmailMessage(
            notification_id=row.id,
            to=row.to_address,
            from_address=(template.from_address if template else "")
            or settings.NOTIFICATIONS_DEFAULT_EMAIL_FROM,
            subject=row.subject if row.subject is not None else (template.subject if template else ""),
            body=row.body if row.body is not None else (template.body if template else ""),
            content_type=template.content_type if template else "Plain",
            attempt=attempt,
        )
    sms_template = order.sms_template
    return SmsMessage(
        notification_id=row.id,
        to=row.mobile_number,
        sender=(sms_template.sender_number if sms_template else "")
        or settings.NOTIFICATIONS_DEFAULT_SMS_SENDER,
        body=row.body if row.body is not None else (sms_template.body if sms_template else ""),
        attempt=attempt,
    )


# --- leases -------------------------------------------------------------------------------------------


def send_claim_renew(*, channel: str, claim_id: uuid.UUID, now: datetime | None = None) -> set[uuid.UUID]:
    """Extend the lease of a send claim's rows still in Sending; return their ids (empty: claim lost).

    One UPDATE for the whole claim, whatever its size. A row the stuck-send sweep has released no longer
    carries the claim id, so renewing never takes a row back.
    """
    now = now or timezone.now()
    until = now + timedelta(seconds=settings.NOTIFICATIONS_SEND_LEASE_SECONDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {_model(channel)._meta.db_table} SET lease_until = %s
             WHERE claim_id = %s AND status = 'Sending'
            RETURNING id
            """,
            [until, claim_id],
        )
        return {row[0] for row in cursor.fetchall()}


def _give_back(*, channel: str, claim_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> int:
    """Return rows of a claim that were never handed to the provider to New, with their attempt back."""
    if not ids:
        return 0
    return int(
        _model(channel)
        .objects.filter(id__in=ids, claim_id=claim_id, status="Sending")
        .update(
            status="New",
            status_changed_at=timezone.now(),
            claimed_at=None,
            claim_id=None,
            lease_until=None,
            attempts=F("attempts") - 1,
        )
    )


class _Lease:
    """Keeps one send claim's lease ahead while its batch is sent, and notices when it was taken over.

    A thread renews the lease every third of it, so a worker waiting on a slow provider call keeps its
    rows; a killed worker's thread dies with it and the lease runs out. The thread touches the database
    only in batches that last that long (it has a connection of its own, closed when it ends).
    """

    def __init__(self, *, channel: str, claim_id: uuid.UUID, ids: set[uuid.UUID]) -> None:
        self.channel = channel
        self.claim_id = claim_id
        self.ids = ids
        self.interval = float(settings.NOTIFICATIONS_SEND_LEASE_SECONDS) / 3
        # One renewal at a time, and never during a record of this batch: both UPDATE the claim's rows,
        # and two transactions of one worker locking them in different orders could deadlock.
        self.busy = threading.Lock()
        self._held: set[uuid.UUID] = ids  # the rows the claim held at the last renewal
        self._renewed = time.monotonic()  # the claim itself counts as the first renewal
        self._generation = 0
        self._checked = 0
        self._lost = False
        self._sent_count = 0  # set by the sender, read by the heartbeat thread (an int: no lock needed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"send-lease-{claim_id}", daemon=True)

    def __enter__(self) -> _Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                self.renew(sent=None)
        finally:
            connections.close_all()  # this thread's own connections only

    def renew(self, *, sent: set[uuid.UUID] | None) -> None:
        started = time.monotonic()
        with self.busy:
            try:
                held = send_claim_renew(channel=self.channel, claim_id=self.claim_id)
            except DatabaseError:
                # The sender stops on its own once the lease may have run out (see taken_over).
                logger.warning("could not renew the lease of send claim %s", self.claim_id, exc_info=True)
                return
        self._held, self._renewed = held, started
        self._generation += 1
        missing = len(self.ids) - len(held)
        # Rows recorded by now are missing too; more missing rows than sent ones means that rows not yet
        # sent were taken (or ended) elsewhere. The sender makes the exact check before its next message.
        if missing > (len(sent) if sent is not None else self._sent_count):
            logger.warning(
                "send claim %s was taken over (or its rows ended elsewhere): %d of its %d no longer held",
                self.claim_id,
                missing,
                len(self.ids),
            )

    def taken_over(self, sent: set[uuid.UUID]) -> bool:
        """Whether rows of this batch not sent yet are no longer held: then nothing more may be sent.

        Called between messages. If the heartbeat is late (the process stood still, the database is slow),
        renew here first, and give up when even that fails: the lease may have run out meanwhile.
        """
        self._sent_count = len(sent)
        if time.monotonic() - self._renewed > 2 * self.interval:
            self.renew(sent=sent)
            if time.monotonic() - self._renewed > 2 * self.interval:
                return True
        if self._checked != self._generation:
            self._checked = self._generation
            self._lost = not (self.ids - sent) <= self._held
        return self._lost


# --- send ---------------------------------------------------------------------------------------------


def notifications_send(*, channel: str | None = None, time_budget: float | None = None) -> SendSummary:
    """Send claimed batches on one or both channels until nothing is left or the time budget is used.

    With both channels the batches take turns (one email batch, one SMS batch, ...), and a channel that
    had nothing is asked again each round: a backlog of 50,000 SMS holds a new email back for one SMS
    batch, not until the backlog is gone.
    """
    channels = [channel] if channel else [Channel.EMAIL, Channel.SMS]
    budget = time_budget if time_budget is not None else settings.NOTIFICATIONS_SEND_TASK_SECONDS
    deadline = time.monotonic() + budget
    runs = [_ChannelRun(name) for name in channels]
    try:
        # A worker asked to stop (SIGTERM) ends the run here, between batches: nothing is left in flight.
        while time.monotonic() < deadline and not stop_requested():
            # Another round only while some channel had a full batch: more may be waiting there.
            full = [run.step() for run in runs if not run.stopped]
            if not any(full):
                break
    finally:
        for run in runs:
            run.close()
    total = SendSummary()
    for run in runs:
        total.add(run.summary)
    return total


def _choose(channel: str) -> tuple[Provider[Any], int] | None:
    """The provider for the next batch and the batch size: SMS may have several (failover)."""
    if channel == Channel.EMAIL:
        return email_provider(), settings.NOTIFICATIONS_SEND_BATCH_SIZE
    choice = sms_provider_choose()
    return None if choice is None else (sms_provider(choice.name), choice.limit)


class _ChannelRun:
    """The batches of one channel within a send run, one :meth:`step` at a time."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.summary = SendSummary()
        self.stopped = False  # every provider of the channel is paused: nothing more in this run
        self._used: dict[str, Provider[Any]] = {}

    def step(self) -> bool:
        """Claim and send one batch; True when it was full (more may be waiting)."""
        chosen = _choose(self.channel)
        if chosen is None:
            self.stopped = True
            return False
        provider, limit = chosen
        self._used[provider.pause_key] = provider
        claimed = notifications_claim(channel=self.channel, pause_key=provider.pause_key, limit=limit)
        if not claimed:
            return False
        batch = _send_batch(provider=provider, channel=self.channel, claimed=claimed)
        self.summary.add(batch)
        # A paused provider ends the channel's run unless another one can take the next batch.
        if batch.paused_until is not None and len(sms_providers() if self.channel == Channel.SMS else []) < 2:
            self.stopped = True
            return False
        return len(claimed) >= limit

    def close(self) -> None:
        for provider in self._used.values():
            provider.after_batch()


def notifications_send_channel(*, channel: str, deadline: float) -> SendSummary:
    """Claim and send batches on one channel; stop when empty, every provider paused, or past ``deadline``."""
    run = _ChannelRun(channel)
    try:
        while time.monotonic() < deadline and not stop_requested() and run.step():
            pass
    finally:
        run.close()
    return run.summary


def _send_batch(*, provider: Provider[Any], channel: str, claimed: Sequence[Claimed]) -> SendSummary:
    by_id = {item.message.notification_id: item for item in claimed}
    summary = SendSummary(claimed=len(claimed))
    with _Lease(channel=channel, claim_id=claimed[0].claim_id, ids=set(by_id)) as lease:
        seen = _send_claimed(provider=provider, channel=channel, by_id=by_id, lease=lease, summary=summary)
    if len(seen) < len(claimed):
        # Taken over mid-batch: what this worker still holds and never sent goes back at once.
        unsent = [notification_id for notification_id in by_id if notification_id not in seen]
        summary.released += _give_back(channel=channel, claim_id=claimed[0].claim_id, ids=unsent)
        logger.warning(
            "send claim %s stopped: %d notification(s) of its batch left unsent",
            claimed[0].claim_id,
            len(unsent),
        )
    counters_flush()  # the batch's metrics, in one statement
    return summary


def _send_claimed(
    *,
    provider: Provider[Any],
    channel: str,
    by_id: dict[uuid.UUID, Claimed],
    lease: _Lease,
    summary: SendSummary,
) -> set[uuid.UUID]:
    """Send and record the batch until done or the claim is lost; return the ids handed to the provider."""
    pending: list[Outcome[Any]] = []
    seen: set[uuid.UUID] = set()
    outcomes = provider.send_batch([item.message for item in by_id.values()])
    try:
        for outcome in outcomes:
            seen.add(outcome.message.notification_id)
            pending.append(outcome)
            if len(pending) >= RECORD_CHUNK:
                with lease.busy:
                    summary.add(_record(provider=provider, channel=channel, by_id=by_id, outcomes=pending))
                pending = []
            # Checked before the provider is asked for the next message (the outcomes are lazy).
            if len(seen) < len(by_id) and lease.taken_over(seen):
                break
    except Exception as exc:
        # A bug or an unexpected library error: we cannot know whether the rest went out, so they are
        # charged as transient failures and retried with backoff (at-least-once, never stuck).
        logger.exception("provider %s failed mid-batch", provider.name)
        provider.close()
        from dispatch.providers.base import ProviderError

        error = ProviderError(f"internal error: {exc.__class__.__name__}: {exc}")
        unsent = [item for item in by_id.values() if item.message.notification_id not in seen]
        pending.extend(Outcome(message=item.message, error=error) for item in unsent)
        seen.update(item.message.notification_id for item in unsent)
    finally:
        close = getattr(outcomes, "close", None)
        if close is not None:
            close()  # a batch left early: let the provider's generator clean up now
    if pending:
        with lease.busy:
            summary.add(_record(provider=provider, channel=channel, by_id=by_id, outcomes=pending))
    return seen


# --- record -------------------------------------------------------------------------------------------


def retry_delay(attempts: int) -> float:
    """Exponential backoff with equal jitter: half fixed, half random, capped."""
    base = settings.NOTIFICATIONS_SEND_RETRY_BASE_SECONDS
    cap = settings.NOTIFICATIONS_SEND_RETRY_MAX_SECONDS
    delay: float = min(cap, base * 2 ** max(0, attempts - 1))
    return delay / 2 + random.uniform(0, delay / 2)


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
    attempts: list[DeliveryAttempt] = []
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
            DeliveryAttempt(
                channel=channel,
                notification_id=claim.message.notification_id,
                order_id=claim.order_id,
                attempt=claim.attempts,
                provider=provider.name,
                outcome=record.outcome,
                status=record.status,
                provider_reference=outcome.result.reference if outcome.result else None,
                started_at=outcome.started_at,
                duration_ms=int(outcome.duration * 1000),
                error=outcome.error.message if outcome.error else "",
                raw_response=(
                    outcome.result.raw if outcome.result else outcome.error.raw if outcome.error else ""
                )[:10000],
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
            DeliveryAttempt.objects.bulk_create(attempts)
            callbacks_record_notifications(channel=channel, ids=final_ids)
    except IntegrityError:
        # A provider reused a message id (seen with SMSCs that recycle ids): apply row by row, and keep
        # the colliding notification's outcome without the reference.
        with transaction.atomic():
            _apply(model, provider.name, updates, now=now, savepoints=True)
            DeliveryAttempt.objects.bulk_create(attempts)
            callbacks_record_notifications(channel=channel, ids=final_ids)
    if pause is not None:
        provider_pause(key=provider.pause_key, until=pause[0], reason=pause[1])
        summary.paused_until = pause[0]
        logger.warning("provider %s paused until %s: %s", provider.pause_key, pause[0].isoformat(), pause[1])
    sends_record(channel=channel, provider=provider.name, observations=observations)
    orders_check_completion({claim.order_id for claim, record in updates if record.final})
    return summary


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


# --- stuck sends --------------------------------------------------------------------------------------


def notifications_release_stuck(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Return notifications left in Sending by a dead worker to New (or Failed when out of budget).

    A claim is given up once its lease has run out (its worker stopped renewing it), or in any case
    ``NOTIFICATIONS_SEND_STUCK_AFTER_SECONDS`` after it was made (a worker hung in a provider call, or a
    claim without a lease). Each row is released only while it still carries the claim that was found
    expired, so a renewal that got there first wins.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.NOTIFICATIONS_SEND_STUCK_AFTER_SECONDS)
    released = 0
    for channel in (Channel.EMAIL, Channel.SMS):
        model = _model(channel)
        finished: set[uuid.UUID] = set()
        failed: list[uuid.UUID] = []
        with transaction.atomic():
            rows = list(
                model.objects.select_for_update(skip_locked=True)
                .filter(status="Sending")
                .filter(Q(lease_until__lt=now) | Q(claimed_at__lt=cutoff))
                .order_by("claimed_at")
                .values("id", "order_id", "attempts", "claimed_at", "claim_id", "provider")[:limit]
            )
            attempts: list[DeliveryAttempt] = []
            for row in rows:
                out_of_budget = row["attempts"] >= settings.NOTIFICATIONS_SEND_MAX_ATTEMPTS
                status = "Failed" if out_of_budget else "New"
                error = "the worker sending it stopped; the result is unknown"
                model.objects.filter(id=row["id"], status="Sending", claim_id=row["claim_id"]).update(
                    status=status,
                    status_changed_at=now,
                    claimed_at=None,
                    claim_id=None,
                    lease_until=None,
                    not_before=None,
                    last_error=f"gave up after {row['attempts']} attempts: {error}"
                    if out_of_budget
                    else error,
                )
                if out_of_budget:
                    finished.add(row["order_id"])
                    failed.append(row["id"])
                attempts.append(
                    DeliveryAttempt(
                        channel=channel,
                        notification_id=row["id"],
                        order_id=row["order_id"],
                        attempt=row["attempts"],
                        provider=row["provider"] or "",
                        outcome=AttemptOutcome.LOST,
                        status=status,
                        started_at=row["claimed_at"] or now,
                        error=error,
                    )
                )
            DeliveryAttempt.objects.bulk_create(attempts)
            callbacks_record_notifications(channel=channel, ids=failed)
        released += len(rows)
        if rows:
            logger.warning("returned %d %s notification(s) stuck in Sending", len(rows), channel)
        orders_check_completion(finished)
    return released
