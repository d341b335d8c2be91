"""The workloads: each measures the service and, in the same run, the baseline it is compared with.

Every function takes the :class:`Context` and returns a JSON-ready dict with ``results``, ``baseline``,
``ratio`` (service / baseline) and ``summary`` rows for the table. Load comes from separate processes
(:mod:`bench.loadgen`) or, for single requests and probes, from the harness process; never from inside
the server. One module per workload; what they share is in :mod:`bench.workloads.common`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.workloads.common import FULL, QUICK, SMOKE, Context, Sizes
from bench.workloads.ingest import ingest
from bench.workloads.large_orders import large_order
from bench.workloads.memory import memory
from bench.workloads.reads import reads, slow_clients
from bench.workloads.registry import registry
from bench.workloads.reports import delivery_reports
from bench.workloads.scaling import scaling
from bench.workloads.sending import sending

__all__ = ["FULL", "QUICK", "SMOKE", "WORKLOADS", "Context", "Sizes"]

WORKLOADS: dict[str, Callable[[Context], dict[str, Any]]] = {
    "ingest": ingest,
    "sending": sending,
    "large_order": large_order,
    "reads": reads,
    "reports": delivery_reports,
    "registry": registry,
    "memory": memory,
    "slow_clients": slow_clients,
    "scaling": scaling,
}
