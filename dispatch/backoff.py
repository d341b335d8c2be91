"""Exponential backoff: one formula for every retry of the dispatch pipeline.

Message sends, status callbacks and unmatched delivery reports are retried after
:func:`backoff_delay`; the first two spread their retries with :func:`jittered_backoff_delay`. The SMPP
receiver waits :func:`backoff_delay` before each reconnect.
"""

from __future__ import annotations

import math
import random


def backoff_delay(attempt: int, *, base: float, cap: float = math.inf) -> float:
    """The wait after the ``attempt``-th failure: ``base`` first, doubled each time, at most ``cap``."""
    delay: float = min(cap, base * 2 ** max(0, attempt - 1))
    return delay


def jittered_backoff_delay(attempt: int, *, base: float, cap: float) -> float:
    """:func:`backoff_delay` with equal jitter: half fixed, half random, so retries of many rows spread."""
    delay = backoff_delay(attempt, base=base, cap=cap)
    return delay / 2 + random.uniform(0, delay / 2)
