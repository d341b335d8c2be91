"""Stopping a worker gracefully: the batch in hand is finished, no further batch is taken.

SIGTERM starts Celery's warm shutdown: the worker stops taking messages and waits for the tasks it is
running. Left alone, a send run would go on claiming batches for up to ``NOTIFICATIONS_SEND_TASK_SECONDS``
(and processing and callback runs for their own budgets), longer than any process manager waits before
SIGKILL, which would leave its last batch in flight. So the loops of those runs ask :func:`stop_requested`
before each new batch or order: once a stop is asked for they return, with everything they claimed
recorded, and what is left waits in PostgreSQL for another worker.

A stop is asked for when the worker process itself gets SIGTERM (the solo and threads pools run tasks
in it), and when a prefork pool process gets SIGTERM: a process manager signals the whole process group
(systemd's default ``KillMode=control-group``, the launcher's ``stop_all``). A pool process otherwise
exits at once on SIGTERM (billiard's handler raises ``SystemExit`` in the task), mid-batch. billiard
installs that handler after Celery's ``worker_process_init``, so ours goes in front of it when the pool
process starts its first task; the first SIGTERM asks for a stop and puts billiard's handler back, so a
second one ends the process as before.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

logger = logging.getLogger(__name__)

_stop = threading.Event()


def stop_requested() -> bool:
    """Whether this process was asked to stop: take no new batch, finish and record the one in hand."""
    return _stop.is_set()


def stop_request() -> None:
    if not _stop.is_set():
        logger.warning("stop requested: finishing the batch in hand, taking no more")
    _stop.set()


_previous: Any = None  # the SIGTERM handler ours stands in front of, back in place after the first


def _on_sigterm(signum: int, frame: object) -> None:
    stop_request()
    signal.signal(signal.SIGTERM, _previous if _previous is not None else signal.SIG_DFL)


def stop_on_sigterm() -> None:
    """In a pool process, before a task: SIGTERM asks for a stop instead of ending the task mid-batch."""
    global _previous
    current = signal.getsignal(signal.SIGTERM)
    if current is _on_sigterm or _stop.is_set():
        return
    _previous = current
    signal.signal(signal.SIGTERM, _on_sigterm)
