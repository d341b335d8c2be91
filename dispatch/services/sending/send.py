"""Sending: choose the provider, claim a batch, hand it over under a lease, record as outcomes come."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

from django.conf import settings
from django.db import connection

from core import tracing
from dispatch.models import Channel
from dispatch.providers import email_provider, sms_provider
from dispatch.providers.base import Outcome, Provider, ProviderError
from dispatch.services.failover import sms_provider_choose, sms_providers
from dispatch.services.metric_counters import counters_flush
from dispatch.services.sending.claim import Claimed, notifications_claim, notifications_due
from dispatch.services.sending.lease import _give_back, _Lease
from dispatch.services.sending.record import RECORD_CHUNK, SendSummary
from dispatch.services.sending.recorder import (
    Recorder,
    fresh_connections,
    question_pool,
    record_pool,
    recording_close,
)
from dispatch.shutdown import stop_requested

logger = logging.getLogger(__name__)

# The most sent in between another channel's messages at a time: an immediate order's few, while a
# backlog of the other channel still goes in turns of whole batches.
INTERLEAVE_BATCH = 50


def notifications_send(*, channel: str | None = None, time_budget: float | None = None) -> SendSummary:
    """Send claimed batches on one or both channels until nothing is left or the time budget is used.

    With both channels the batches take turns (one email batch, one SMS batch, ...); a channel that had
    nothing is asked between the messages of the other's backlog and claims on its own again before the
    run ends: a backlog of 50,000 SMS holds a new email back for a few SMS, not until the backlog is gone.
    """
    channels = [channel] if channel else [Channel.EMAIL, Channel.SMS]
    budget = time_budget if time_budget is not None else settings.NOTIFICATIONS_SEND_TASK_SECONDS
    deadline = time.monotonic() + budget
    runs = [_ChannelRun(name) for name in channels]
    if len(runs) > 1 and settings.NOTIFICATIONS_SEND_INTERLEAVE_SECONDS > 0:
        for run in runs:
            run.others = [other for other in runs if other is not run]
    try:
        # A worker asked to stop (SIGTERM) ends the run here, between batches: nothing is left in flight.
        while time.monotonic() < deadline and not stop_requested():
            # Another round only while some channel had a full batch: more may be waiting there. A channel
            # that had nothing is asked between the messages of the other's backlog instead (in the
            # question thread), and claims on its own again only before the run ends.
            watched = [run for run in runs if run.watched()]
            full = [run.step() for run in runs if not run.stopped and run not in watched]
            if not any(full) and not any([run.step() for run in watched if not run.stopped]):
                break
    finally:
        for run in runs:
            run.close()
        recording_close()
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
        # The other channels of the run: what falls due there is sent in between this one's messages.
        self.others: list[_ChannelRun] = []
        # Whether the last batch was full: then the channel has a backlog and waits for its own turn.
        # Unknown before the channel's first turn, which comes within the run's first round anyway.
        self.backlog = True
        self._polled = time.monotonic()
        self._ahead: _Ahead | None = None  # the next batch, claimed while the current one is sent
        self._due_check: Future[list[str]] | None = None  # "is another channel due?", being asked

    def watched(self) -> bool:
        """Whether this channel, which emptied its queue, is asked for between another's backlog.

        Then a claim of its own each round (a transaction, two round trips, nearly always finding nothing)
        would only hold the other channel's next batch back.
        """
        return not self.backlog and any(other.backlog and not other.stopped for other in self.others)

    def step(self, *, limit: int | None = None) -> bool:
        """Claim and send one batch (of at most ``limit``); True when it was full (more may be waiting).

        A batch of at most ``limit`` is sent in between another channel's messages, and itself lets
        nothing in between. After a full batch the next one is claimed ahead, in the background, while
        this one is sent (see :class:`_Ahead`).
        """
        ahead = self._ahead if limit is None else None
        self._ahead = None if limit is None else self._ahead
        claimed: list[Claimed] = ahead.take() if ahead is not None else []
        if ahead is not None and claimed:
            provider, size, clock = ahead.provider, ahead.size, ahead.clock
        else:
            ahead = None  # nothing was due then: ask again now
            chosen = _choose(self.channel)
            if chosen is None:
                self.stopped = True
                return False
            provider, size = chosen
            size = size if limit is None else min(size, limit)
            clock = time.monotonic()
            claimed = notifications_claim(channel=self.channel, pause_key=provider.pause_key, limit=size)
        self._used[provider.pause_key] = provider
        if not claimed:
            self.backlog = False
            return False
        # A full batch means more may be waiting: the channel is then not asked in between the other's
        # messages (a backlog of both channels goes in turns of whole batches, as before).
        self.backlog = len(claimed) >= size
        if self.backlog and limit is None and not connection.in_atomic_block:
            # Claimed in the recording thread before any outcome of this batch is recorded there, so
            # the next batch is ready when this one has been handed over.
            self._ahead = _Ahead(channel=self.channel, provider=provider, size=size)
        between = self._between if self.others and limit is None else None
        batch = _send_batch(
            provider=provider, channel=self.channel, claimed=claimed, between=between, claimed_clock=clock
        )
        self.summary.add(batch)
        # A paused provider ends the channel's run unless another one can take the next batch.
        if batch.paused_until is not None:
            self._give_back_ahead()  # claimed before the pause was known: not to be sent now
            if len(sms_providers() if self.channel == Channel.SMS else []) < 2:
                self.stopped = True
                return False
        # A batch claimed ahead was claimed before the last one was sent: what fell due since is asked
        # for by the next claim, so a run never ends on a claim made ahead.
        return self.backlog or ahead is not None

    def _between(self) -> None:
        """Between two messages of this channel's batch: send what became due on the other channels.

        Every ``NOTIFICATIONS_SEND_INTERLEAVE_SECONDS`` at most, one indexed query asks whether the other
        channel has a due row; only then is a small batch of it claimed and sent, without interleaving
        in turn. So an immediate email waits for a few SMS of a 500-SMS batch, not for the whole batch.
        The question is asked by a thread of its own (its answer is looked at between later messages): a
        round trip per question in the sender was half of its time on a busy machine, and in the
        recording thread it waited behind the claims and records queued there.
        """
        check = self._due_check
        if check is not None:
            if not check.done():
                return
            self._due_check = None
            due = _answer(check)
            for other in self.others:
                if other.channel in due and not (other.stopped or other.backlog):
                    other.step(limit=INTERLEAVE_BATCH)
            return
        now = time.monotonic()
        if now - self._polled < settings.NOTIFICATIONS_SEND_INTERLEAVE_SECONDS:
            return
        self._polled = now
        asked = [other.channel for other in self.others if not (other.stopped or other.backlog)]
        if not asked:
            return
        if connection.in_atomic_block:
            # Rows of this transaction (a test's) are invisible to the thread's connection: ask here.
            for other in self.others:
                if other.channel in asked and notifications_due(channel=other.channel):
                    other.step(limit=INTERLEAVE_BATCH)
            return
        self._due_check = question_pool().submit(_due_channels, asked)

    def _give_back_ahead(self) -> None:
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            self.summary.released += ahead.give_back()

    def close(self) -> None:
        try:
            self._give_back_ahead()  # the run ends (done, deadline, stop, error) with a batch claimed ahead
        finally:
            for provider in self._used.values():
                provider.after_batch()


def _due_channels(channels: list[str]) -> list[str]:
    """Which of ``channels`` have a due notification (in the question thread)."""
    fresh_connections()
    return [channel for channel in channels if notifications_due(channel=channel)]


def _answer(check: Future[list[str]]) -> list[str]:
    error = check.exception()
    if error is not None:
        # Only a shortcut: what is due is sent in the channel's own turn anyway.
        logger.warning("could not ask whether another channel is due: %s", error)
        return []
    return check.result()


class _Ahead:
    """The next batch of a channel, claimed by the recording thread while the current one is sent.

    The claim goes to the same single thread as the current batch's records, before them: so it is made
    before any outcome of the current batch is recorded (an order, not a race), on that thread's own
    connection, and takes the sender no round trip at all. Claimed rows wait for their send under the
    claim's lease like any claimed row: a worker killed before sending them leaves them to the lease's
    expiry and the release sweep; a run that ends without sending them gives them back at once.
    """

    def __init__(self, *, channel: str, provider: Provider[Any], size: int) -> None:
        self.channel = channel
        self.provider = provider
        self.size = size
        self.clock = time.monotonic()  # at or before the claim: the lease counts from no earlier
        self.future: Future[list[Claimed]] = record_pool().submit(self._claim)

    def _claim(self) -> list[Claimed]:
        fresh_connections()
        return notifications_claim(channel=self.channel, pause_key=self.provider.pause_key, limit=self.size)

    def take(self) -> list[Claimed]:
        """The batch claimed ahead (raises what the claim raised, as a claim made here would)."""
        return self.future.result()

    def give_back(self) -> int:
        """Return the rows claimed ahead and not sent to New, their attempt given back."""
        try:
            claimed = self.future.result()
        except Exception:
            logger.exception("the claim made ahead on %s failed; nothing to give back", self.channel)
            return 0
        if not claimed:
            return 0
        ids = [item.message.notification_id for item in claimed]
        return _give_back(channel=self.channel, claim_id=claimed[0].claim_id, ids=ids)


def notifications_send_channel(*, channel: str, deadline: float) -> SendSummary:
    """Claim and send batches on one channel; stop when empty, every provider paused, or past ``deadline``."""
    run = _ChannelRun(channel)
    try:
        while time.monotonic() < deadline and not stop_requested() and run.step():
            pass
    finally:
        run.close()
        recording_close()
    return run.summary


def _send_batch(
    *,
    provider: Provider[Any],
    channel: str,
    claimed: Sequence[Claimed],
    between: Callable[[], None] | None = None,
    claimed_clock: float | None = None,
) -> SendSummary:
    by_id = {item.message.notification_id: item for item in claimed}
    summary = SendSummary(claimed=len(claimed))
    # One span per batch for every provider: SMTP and SMPP have no instrumentation of their own, and an HTTP
    # provider's requests nest under it. Names and counts only, never recipients.
    attributes: dict[str, tracing.AttributeValue] = {
        "notifications.channel": channel,
        "notifications.provider": provider.name,
        "notifications.count": len(claimed),
    }
    with (
        tracing.span("notifications.send_batch", attributes),
        _Lease(channel=channel, claim_id=claimed[0].claim_id, ids=set(by_id), claimed=claimed_clock) as lease,
    ):
        seen = _send_claimed(
            provider=provider, channel=channel, by_id=by_id, lease=lease, summary=summary, between=between
        )
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
    between: Callable[[], None] | None = None,
) -> set[uuid.UUID]:
    """Send and record the batch until done or the claim is lost; return the ids handed to the provider."""
    pending: list[Outcome[Any]] = []
    seen: set[uuid.UUID] = set()
    recorder = Recorder(provider=provider, channel=channel, by_id=by_id, lease=lease, summary=summary)
    outcomes = provider.send_batch([item.message for item in by_id.values()])
    try:
        for outcome in outcomes:
            seen.add(outcome.message.notification_id)
            pending.append(outcome)
            if len(pending) >= RECORD_CHUNK:
                recorder.submit(pending)
                pending = []
            # Checked before the provider is asked for the next message (the outcomes are lazy).
            if len(seen) < len(by_id) and (recorder.failed or lease.taken_over(seen)):
                break
            if between is not None and len(seen) < len(by_id):
                between()  # the provider waits here: nothing more is handed over meanwhile
    except Exception as exc:
        # A bug or an unexpected library error: we cannot know whether the rest went out, so they are
        # charged as transient failures and retried with backoff (at-least-once, never stuck).
        logger.exception("provider %s failed mid-batch", provider.name)
        provider.close()
        error = ProviderError(f"internal error: {exc.__class__.__name__}: {exc}")
        unsent = [item for item in by_id.values() if item.message.notification_id not in seen]
        pending.extend(Outcome(message=item.message, error=error) for item in unsent)
        seen.update(item.message.notification_id for item in unsent)
    finally:
        close = getattr(outcomes, "close", None)
        if close is not None:
            close()  # a batch left early: let the provider's generator clean up now
    recorder.submit(pending)
    recorder.close()
    return seen
