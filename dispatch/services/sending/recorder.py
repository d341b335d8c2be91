"""Recording off the sender's path: a batch's chunks of outcomes are applied in a thread of their own.

While one chunk is being written (a transaction: a round trip or three to PostgreSQL), the sender goes on
handing the next messages to the provider, so an SMPP window stays full instead of draining at every
record. At most one chunk is being recorded while the next one fills, so the outcomes not yet recorded
are at most two chunks; the sender stops handing messages over as soon as a record has failed, as it did
when it recorded them itself.

The same thread, first in first out, also claims a channel's next batch ahead (``send._Ahead``): a round
trip the sender no longer waits for. Whether the other channel is due (``send._ChannelRun._between``) is
asked by a second thread of its own, so the question never waits behind a claim of 500 rows or a chunk's
transaction: the answer is what lets an immediate email in between two SMS.

The threads live as long as their worker process; their database connections are checked before each
use, like a task's, and closed at the end of each send run. Inside a transaction (an instant send's request,
a test) and for batches of a single chunk, chunks are recorded in the caller's thread: another
connection could not see the rows.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.db import connection, connections

from dispatch.providers.base import Outcome, Provider
from dispatch.services.sending.claim import Claimed
from dispatch.services.sending.lease import _Lease
from dispatch.services.sending.record import RECORD_CHUNK, SendSummary, _record

_executors: dict[str, ThreadPoolExecutor] = {}
_executor_pid = 0
_executor_lock = threading.Lock()


def _pool(name: str) -> ThreadPoolExecutor:
    """This process's single thread called ``name`` (a forked worker process makes its own)."""
    global _executor_pid
    with _executor_lock:
        if _executor_pid != os.getpid():
            _executors.clear()
            _executor_pid = os.getpid()
        executor = _executors.get(name)
        if executor is None:
            executor = _executors[name] = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        return executor


def record_pool() -> ThreadPoolExecutor:
    """This process's recording thread: records chunks and claims the next batch ahead, in order."""
    return _pool("send-record")


def question_pool() -> ThreadPoolExecutor:
    """This process's thread for "is the other channel due?": never queued behind records or claims."""
    return _pool("send-due")


def fresh_connections() -> None:
    """What Celery does around a task: drop a connection that broke or outlived its age."""
    for conn in connections.all(initialized_only=True):
        conn.close_if_unusable_or_obsolete()


def recording_close() -> None:
    """Close the threads' database connections (at the end of a send run: none is left idle)."""
    with _executor_lock:
        executors = list(_executors.values()) if _executor_pid == os.getpid() else []
    for executor in executors:
        executor.submit(connections.close_all).result()


class Recorder:
    """Records one batch's outcomes chunk by chunk; :meth:`close` waits for the last one."""

    def __init__(
        self,
        *,
        provider: Provider[Any],
        channel: str,
        by_id: dict[uuid.UUID, Claimed],
        lease: _Lease,
        summary: SendSummary,
    ) -> None:
        self.provider = provider
        self.channel = channel
        self.by_id = by_id
        self.lease = lease
        self.summary = summary
        self.background = len(by_id) > RECORD_CHUNK and not connection.in_atomic_block
        self._running: Future[SendSummary] | None = None

    def _work(self, outcomes: list[Outcome[Any]]) -> Callable[[], SendSummary]:
        def record() -> SendSummary:
            if self.background:
                fresh_connections()
            with self.lease.busy:  # never while the heartbeat renews this claim's rows
                return _record(
                    provider=self.provider, channel=self.channel, by_id=self.by_id, outcomes=outcomes
                )

        return record

    @property
    def failed(self) -> bool:
        """Whether a chunk could not be recorded: then nothing more may be handed to the provider."""
        running = self._running
        return running is not None and running.done() and running.exception() is not None

    def submit(self, outcomes: list[Outcome[Any]]) -> None:
        """Record ``outcomes``: at once here, or in the thread once the chunk before is written."""
        if not outcomes:
            return
        if not self.background:
            self.summary.add(self._work(outcomes)())
            return
        self._wait()
        self._running = record_pool().submit(self._work(outcomes))

    def _wait(self) -> None:
        running, self._running = self._running, None
        if running is not None:
            self.summary.add(running.result())  # raises what the record raised

    def close(self) -> None:
        """Wait until every chunk is recorded; raise the error of a failed record."""
        self._wait()
