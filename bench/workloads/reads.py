"""5. Reads and 8. slow clients: status reads under load, and reads while many clients trickle."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from bench.workloads.common import (
    API,
    Context,
    http,
    ratio,
    row,
)
from bench.workloads.large_orders import post_large_order, until_generated
from bench.workloads.reports import brief


def closed_loop(ctx: Context, url: str, concurrency: int, seconds: float) -> dict[str, Any]:
    result = ctx.loadgen(
        {
            "mode": "closed",
            "concurrency": concurrency,
            "duration": seconds,
            "requests": [{"method": "GET", "url": url, "headers": ctx.auth()}],
            "timeout": 30,
        }
    )
    return brief(result)


def reads(ctx: Context) -> dict[str, Any]:
    """GET the notification list of a 10,000-notification order and its status: latency and req/s."""
    sizes = ctx.sizes
    if ctx.read_order is None or ctx.read_order[1] != sizes.reads_order:
        order_id, _ = post_large_order(ctx, sizes.reads_order)
        until_generated(order_id, timeout=120)
        ctx.read_order = (order_id, sizes.reads_order)
    order_id, rows = ctx.read_order
    seconds = sizes.reads_seconds
    urls = {
        "notifications_sms": f"{ctx.base}{API}/orders/{order_id}/notifications/sms",
        "status": f"{ctx.base}{API}/orders/{order_id}/status",
    }
    status, body, _ = http("GET", urls["notifications_sms"], headers=ctx.auth())
    if status != 200 or json.loads(body)["generated"] != rows:
        raise RuntimeError(f"the notification list did not answer as expected: {status}")
    results: dict[str, Any] = {"order_notifications": rows, "response_bytes": len(body)}
    workers = ctx.stack.web_workers
    for name, url in urls.items():
        results[name] = {f"c{c}": closed_loop(ctx, url, c, seconds) for c in (1, workers)}
    bare_url = f"{ctx.base}{API}/whoami"
    baseline = {f"c{c}": closed_loop(ctx, bare_url, c, min(seconds, 4)) for c in (1, workers)}
    summary = []
    for name, label in (("notifications_sms", f"GET notifications/sms ({rows:,})"), ("status", "GET status")):
        for c in (1, workers):
            measured = results[name][f"c{c}"]
            latency = measured["latency_ms"]
            p99 = latency["p99"]
            summary.append(
                row(
                    "5 reads",
                    f"{label} c={c}: req/s, p50/p99 ms",
                    f"{measured['throughput']}, {latency['p50']}/{p99}",
                    baseline=baseline[f"c{c}"]["throughput"],
                    ratio_=ratio(measured["throughput"], baseline[f"c{c}"]["throughput"]),
                    target="p99 <= 100 ms",
                    met=p99 is not None and p99 <= 100 and measured["errors"] == 0,
                )
            )
    return {"results": results, "baseline": {"bare_view": baseline}, "summary": summary}


# --- 8. slow clients ------------------------------------------------------------------------------------

SLOW_CLIENTS = 200


class _SlowClients:
    """Connections that trickle their request, one byte a second, and never finish it: half of them in
    the headers, half in a declared body. One the server drops is opened again, so there are always
    ``count`` of them while the latency is measured."""

    def __init__(self, base_url: str, count: int, token: str) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        self.address = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.openings = [
            b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n",
            (
                f"POST {API}/orders/sms HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
            ).encode(),
        ]
        self.sockets: list[socket.socket | None] = [None] * count
        self.reopened = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _open(self, index: int) -> None:
        sock = socket.create_connection(self.address, timeout=5)
        sock.sendall(self.openings[index % 2])
        self.sockets[index] = sock

    def start(self) -> None:
        for index in range(len(self.sockets)):
            self._open(index)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            for index, sock in enumerate(self.sockets):
                try:
                    assert sock is not None
                    sock.send(b"X")
                except (OSError, AssertionError):
                    if sock is not None:
                        sock.close()
                    self.reopened += 1
                    try:
                        self._open(index)
                    except OSError:
                        self.sockets[index] = None

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        for sock in self.sockets:
            if sock is not None:
                sock.close()


def slow_clients(ctx: Context) -> dict[str, Any]:
    """GET /health latency (one client, back to back), alone and with 200 slow clients connected."""
    seconds = ctx.sizes.slow_clients_seconds
    url = f"{ctx.base}/health"
    alone = closed_loop(ctx, url, 1, seconds)
    trickling = _SlowClients(ctx.base, SLOW_CLIENTS, ctx.token)
    trickling.start()
    try:
        with_slow = closed_loop(ctx, url, 1, seconds)
    finally:
        trickling.stop()
    p50, p99 = with_slow["latency_ms"]["p50"], with_slow["latency_ms"]["p99"]
    base50, base99 = alone["latency_ms"]["p50"], alone["latency_ms"]["p99"]
    return {
        "results": {
            "with_slow_clients": with_slow,
            "slow_clients": SLOW_CLIENTS,
            "reopened": trickling.reopened,
        },
        "baseline": {"alone": alone},
        "ratio": {"p50": ratio(p50, base50), "p99": ratio(p99, base99)},
        "summary": [
            row(
                "8 slow clients",
                f"GET /health p50/p99 with {SLOW_CLIENTS} slow clients",
                f"{p50}/{p99}",
                unit="ms",
                baseline=f"{base50}/{base99}",
                ratio_=ratio(p99, base99),
                target="answers; p99 within a few x of alone",
                met=with_slow["errors"] == 0 and with_slow["requests"] > 0,
            )
        ],
    }
