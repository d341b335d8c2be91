"""The one exponential backoff every retry of the pipeline uses."""

from __future__ import annotations

from dispatch.backoff import backoff_delay, jittered_backoff_delay


def test_the_backoff_starts_at_the_base_and_doubles_up_to_the_cap():
    assert [backoff_delay(attempt, base=5, cap=60) for attempt in range(7)] == [5, 5, 10, 20, 40, 60, 60]


def test_without_a_cap_the_backoff_keeps_doubling():
    assert backoff_delay(11, base=5) == 5 * 1024


def test_the_jittered_backoff_keeps_half_of_the_delay_and_randomises_the_rest():
    delays = [jittered_backoff_delay(3, base=2, cap=60) for _ in range(200)]
    assert all(4 <= delay <= 8 for delay in delays)
    assert len(set(delays)) > 1
