"""The benchmark harness at smoke sizes: it starts, runs every workload and writes a well-formed report.

Only that it works is checked, never how fast anything was: times on a shared machine prove nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cli import ORDER

BASE_DIR = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.bench


def test_the_smoke_harness_runs_every_workload_and_writes_its_report(tmp_path: Path) -> None:
    out = tmp_path / "smoke.json"
    # The harness starts its own servers: none of the test run's settings may leak into them.
    env = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME", "LANG", "TMPDIR")}

    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(out)],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    report = json.loads(out.read_text())
    assert report["mode"] == "smoke"
    assert list(report["workloads"]) == ORDER
    for name, workload in report["workloads"].items():
        assert "error" not in workload, name
        assert workload["summary"], name
        assert {"machine_busy_pct", "ours_pct", "others_pct"} <= set(workload["load"]), name
    rows = report["summary"]
    assert {row["workload"].split()[0] for row in rows} == {"1", "2", "3", "4", "5", "6", "7", "8", "9"}
    for row in rows:
        assert set(row) == {"workload", "metric", "value", "unit", "baseline", "ratio", "target", "met"}
        assert row["met"] in (True, False, None)
    # The table goes to stdout as well.
    assert "| metric" in result.stdout
