"""How busy the machine was during a measurement, and how much of that was the benchmark itself.

The machine may be shared: a busy neighbour slows every number down. For each workload we record the
machine's busy share (``/proc/stat``) and the CPU time of our own processes (the harness, its servers and
load generators, from ``/proc/<pid>/stat``); the difference is somebody else's load. A process that exits
has its CPU time added to its parent's ``cutime``/``cstime`` once reaped, so summing every live process of
ours (own plus reaped children) stays consistent as load generators and database backends come and go.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CPUS = os.cpu_count() or 1


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may contain spaces: split after the last ")".
    return text[text.rindex(")") + 2 :].split()


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        if fields is not None:
            tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def descendants(roots: list[int]) -> set[int]:
    """The given processes and every process below them."""
    tree = _children()
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        stack.extend(tree.get(pid, []))
    return seen


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and its reaped children (utime + stime + cutime + cstime)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    # Fields after the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
    return sum(int(value) for value in fields[11:15]) / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _machine() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    busy = user + nice + system + irq + softirq + steal
    return busy / CLOCK_TICKS, (busy + idle + iowait) / CLOCK_TICKS


@dataclass
class LoadSample:
    wall: float
    machine_busy: float
    machine_total: float
    ours: float


class LoadMeter:
    """Measures machine load and our share of it between ``start()`` and ``stop()``."""

    def __init__(self, roots: list[int]) -> None:
        self.roots = roots  # the harness and the server processes that are not its descendants
        self._start: LoadSample | None = None

    def _ours(self) -> float:
        return sum(cpu_seconds(pid) for pid in descendants(self.roots))

    def sample(self) -> LoadSample:
        busy, total = _machine()
        return LoadSample(wall=time.monotonic(), machine_busy=busy, machine_total=total, ours=self._ours())

    def start(self) -> None:
        self._start = self.sample()

    def stop(self) -> dict[str, float]:
        assert self._start is not None
        end = self.sample()
        start = self._start
        total = max(1e-9, end.machine_total - start.machine_total)
        busy = end.machine_busy - start.machine_busy
        ours = max(0.0, end.ours - start.ours)
        others = max(0.0, busy - ours)
        return {
            "seconds": round(end.wall - start.wall, 1),
            "machine_busy_pct": round(100 * busy / total, 1),
            "ours_pct": round(100 * min(ours, busy) / total, 1),
            "others_pct": round(100 * others / total, 1),
            "loadavg_1m": round(os.getloadavg()[0], 2),
        }


def command_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


class RoleMeter:
    """CPU seconds per role (web, worker, PostgreSQL, ...) between ``start()`` and ``stop()``.

    A role is the process trees below some root pids; the trees are read again at the stop, so pool
    processes and database backends started meanwhile count (those that exited count through their
    parent's ``cutime``).
    """

    def __init__(self, roles: dict[str, list[int]]) -> None:
        self.roles = roles
        self._start: dict[str, float] = {}
        self._wall = 0.0

    def _sample(self) -> dict[str, float]:
        return {
            role: sum(cpu_seconds(pid) for pid in descendants(roots)) for role, roots in self.roles.items()
        }

    def start(self) -> None:
        self._start = self._sample()
        self._wall = time.monotonic()

    def stop(self) -> dict[str, float]:
        """CPU seconds used by each role since ``start()``, and ``wall`` seconds."""
        end = self._sample()
        used = {role: round(max(0.0, end[role] - self._start.get(role, 0.0)), 2) for role in end}
        return {**used, "wall": round(time.monotonic() - self._wall, 2)}
