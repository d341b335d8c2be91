"""Sending: choose the provider, claim a batch, hand it over under a lease, record as outcomes come."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings

from core import tracing
from dispatch.models import Channel
from dispatch.providers import email_provider, sms_provider
from dispatch.providers.base import Outcome, Provider, ProviderError
from dispatch.services.failover import sms_provider_choose, sms_providers
from dispatch.services.metric_counters import counters_flush
from dispatch.services.sending.claim import Claimed, notifications_claim, notifications_due
from dispatch.services.sending.lease import _give_back, _Lease
from dispatch.services.sending.record import RECORD_CHUNK, SendSummary
from dispatch.services.sending.recorder import Recorder, recording_close
from dispatch.shutdown import stop_requested

logger = logging.getLogger(__name__)

# The most sent in between another channel's messages at a time: an immediate order's few, while a
# backlog of the other channel still goes in turns of whole batches.
INTERLEAVE_BATCH = 50


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
    if len(runs) > 1 and settings.NOTIFICATIONS_SEND_INTERLEAVE_SECONDS > 0:
        for run in runs:
            run.others = [other for other in runs if other is not run]
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

    def step(self, *, limit: int | None = None) -> bool:
        """Claim and send one batch (of at most ``limit``); True when it was full (more may be waiting).

        A batch of at most ``limit`` is sent in between another channel's messages, and itself lets
        nothing in between.
        """
        chosen = _choose(self.channel)
        if chosen is None:
            self.stopped = True
            return False
        provider, size = chosen
        size = size if limit is None else min(size, limit)
        self._used[provider.pause_key] = provider
        claimed = notifications_claim(channel=self.channel, pause_key=provider.pause_key, limit=size)
        if not claimed:
            self.backlog = False
            return False
        # A full batch means more may be waiting: the channel is then not asked in between the other's
        # messages (a backlog of both channels goes in turns of whole batches, as before).
        self.backlog = len(claimed) >= size
        between = self._between if self.others and limit is None else None
        batch = _send_batch(provider=provider, channel=self.channel, claimed=claimed, between=between)
        self.summary.add(batch)
        # A paused provider ends the channel's run unless another one can take the next batch.
        if batch.paused_until is not None and len(sms_providers() if self.channel == Channel.SMS else []) < 2:
            self.stopped = True
            return False
        return self.backlog

    def _between(self) -> None:
        """Between two messages of this channel's batch: send what became due on the other channels.

        Every ``NOTIFICATIONS_SEND_INTERLEAVE_SECONDS`` at most, one indexed query asks whether the other
        channel has a due row; only then is a small batch of it claimed and sent, without interleaving
        in turn. So an immediate email waits for a few SMS of a 500-SMS batch, not for the whole batch.
        """
        now = time.monotonic()
        if now - self._polled < settings.NOTIFICATIONS_SEND_INTERLEAVE_SECONDS:
            return
        self._polled = now
        for other in self.others:
            if not (other.stopped or other.backlog) and notifications_due(channel=other.channel):
                other.step(limit=INTERLEAVE_BATCH)

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
        recording_close()
    return run.summary


def _send_batch(
    *,
    provider: Provider[Any],
    channel: str,
    claimed: Sequence[Claimed],
    between: Callable[[], None] | None = None,
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
        _Lease(channel=channel, claim_id=claimed[0].claim_id, ids=set(by_id)) as lease,
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
