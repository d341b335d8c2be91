"""The load generator: ``python -m bench.loadgen SPEC.json`` prints a JSON result on stdout.

It runs in its own process (never inside the server) on asyncio and aiohttp, which sustains several
thousand requests per second on one core, well above what the service under test can take here.

Open loop (``"mode": "open"``): request *i* is due at ``start + i / rate`` whether or not earlier ones have
been answered, as real clients behave; latency is counted from the moment a request was due, so a server
that falls behind shows it in the percentiles instead of silently slowing the client down (coordinated
omission). Requests that could not even be started within ``late_ms`` of their time are counted as
``late``: a step with late starts says more about the load generator than about the server.

Closed loop (``"mode": "closed"``): ``concurrency`` clients send back to back for ``duration`` seconds or
until ``count`` requests are done: the saturation throughput.

The spec: ``requests`` is a list of ``{method, url, headers, body}`` used round-robin (``body`` a string);
``timeout`` in seconds; ``max_in_flight`` caps open-loop concurrency (requests beyond it are ``dropped``).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from typing import Any

import aiohttp


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, int(round(fraction * len(sorted_values) + 0.5)) - 1))
    return sorted_values[index]


def summarise(latencies: list[float]) -> dict[str, float | None]:
    values = sorted(latencies)
    return {
        f"p{label}": None if (value := percentile(values, fraction)) is None else round(value * 1000, 2)
        for label, fraction in (("50", 0.50), ("95", 0.95), ("99", 0.99), ("max", 1.0))
    }


class _Run:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.requests = [
            (item["method"], item["url"], item.get("headers") or {}, (item.get("body") or "").encode())
            for item in spec["requests"]
        ]
        self.latencies: list[float] = []
        self.statuses: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.late = 0
        self.dropped = 0
        self.in_flight = 0
        self.done = 0

    async def one(self, session: aiohttp.ClientSession, index: int, due: float) -> None:
        method, url, headers, body = self.requests[index % len(self.requests)]
        self.in_flight += 1
        try:
            async with session.request(method, url, headers=headers, data=body or None) as response:
                await response.read()
                self.statuses[str(response.status)] += 1
                if response.status >= 400:
                    self.errors[f"HTTP {response.status}"] += 1
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            self.errors[exc.__class__.__name__] += 1
        finally:
            self.in_flight -= 1
            self.done += 1
            self.latencies.append(time.perf_counter() - due)

    async def open_loop(self, session: aiohttp.ClientSession) -> float:
        rate = float(self.spec["rate"])
        total = max(1, int(rate * float(self.spec["duration"])))
        late_after = float(self.spec.get("late_ms", 10)) / 1000
        cap = int(self.spec.get("max_in_flight", 512))
        tasks: set[asyncio.Task[None]] = set()
        start = time.perf_counter()
        for index in range(total):
            due = start + index / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            elif -delay > late_after:
                self.late += 1
            if self.in_flight >= cap:
                self.dropped += 1
                continue
            task = asyncio.create_task(self.one(session, index, due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        sent_seconds = time.perf_counter() - start
        if tasks:
            await asyncio.wait(tasks)
        return sent_seconds

    async def closed_loop(self, session: aiohttp.ClientSession) -> float:
        duration = float(self.spec.get("duration", 3600))
        count = self.spec.get("count")
        concurrency = int(self.spec["concurrency"])
        start = time.perf_counter()
        counter = iter(range(10**12))

        async def client() -> None:
            while time.perf_counter() - start < duration:
                index = next(counter)
                if count is not None and index >= int(count):
                    return
                await self.one(session, index, time.perf_counter())

        await asyncio.gather(*(client() for _ in range(concurrency)))
        return time.perf_counter() - start

    async def run(self) -> dict[str, Any]:
        # Connections are kept alive and reused, as real API clients do (the server keeps them open until
        # they idle longer than its header timeout).
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=float(self.spec.get("timeout", 10)))
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            started = time.perf_counter()
            if self.spec["mode"] == "open":
                await self.open_loop(session)
            else:
                await self.closed_loop(session)
            elapsed = time.perf_counter() - started
        return {
            "mode": self.spec["mode"],
            "offered_rate": self.spec.get("rate"),
            "concurrency": self.spec.get("concurrency"),
            "requests": self.done,
            "seconds": round(elapsed, 3),
            "throughput": round(self.done / elapsed, 1) if elapsed else None,
            "ok": sum(n for status, n in self.statuses.items() if status < "400"),
            "errors": sum(self.errors.values()),
            "error_kinds": dict(self.errors),
            "statuses": dict(self.statuses),
            "late": self.late,
            "dropped": self.dropped,
            "latency_ms": summarise(self.latencies),
        }


def main(argv: list[str]) -> int:
    with open(argv[0]) as file:
        spec = json.load(file)
    result = asyncio.run(_Run(spec).run())
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
