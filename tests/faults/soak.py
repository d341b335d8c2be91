"""``make soak``: the fault tests and the API fuzz test at soak sizes, then a summary of what was lost or
duplicated: ``python -m tests.faults.soak [pytest args...]``.

The tests are the ones ``make test`` runs (``tests/faults/`` and the OpenAPI fuzz test); the sizes they read
from the environment are set larger here, unless the environment sets them already:

* ``FAULT_NOTIFICATIONS`` recipients in the order whose worker is SIGKILLed, ``FAULT_KILLS`` times in the
  middle of a send batch (plus the three kills while it looks the recipients up);
* ``FAULT_REDIS_RECIPIENTS`` and ``FAULT_POSTGRES_RECIPIENTS``: the orders being sent when Redis is
  restarted and when PostgreSQL crashes and is started again;
* ``FUZZ_CASES``: API cases generated from the OpenAPI document, at the least.

Each test appends its numbers to the file named by ``FAULTS_REPORT``; the summary (printed, and written to
``bench/results/soak.json``, which git ignores) adds up lost and duplicated notifications, lists each kill
and restart, and says whether the run held: nothing lost, no more messages sent twice than were in flight
at the kills, every test passed. Not part of ``make test`` or CI: it runs for about twenty minutes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULT = ROOT / "bench" / "results" / "soak.json"
SIZES = {
    "FAULT_NOTIFICATIONS": "100000",
    "FAULT_KILLS": "20",
    "FAULT_REDIS_RECIPIENTS": "5000",
    "FAULT_POSTGRES_RECIPIENTS": "5000",
    "FUZZ_CASES": "5000",
}
TESTS = ["tests/faults", "tests/notifications_project/test_openapi_fuzz.py"]


def run_tests(env: dict[str, str], junit: Path, pytest_args: list[str]) -> int:
    """The tests through the test command of the launcher (throwaway PostgreSQL and Redis), pytest only."""
    command = [sys.executable, "-m", "notifications_project.embedded", "test"]
    command += ["-q", f"--junitxml={junit}", *TESTS, *pytest_args]
    return subprocess.run(command, env={**env, "TEST_STEPS": "pytest"}, cwd=ROOT, check=False).returncode


def test_results(junit: Path) -> dict[str, Any]:
    """Passed and failed tests, from pytest's JUnit XML (an empty result when pytest never wrote it)."""
    if not junit.exists():
        return {"passed": 0, "failed": [], "skipped": 0}
    failed, passed, skipped = [], 0, 0
    seconds: dict[str, float] = {}
    for case in ElementTree.parse(junit).iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        module = str(case.get("classname")).rpartition(".")[2]
        seconds[module] = round(seconds.get(module, 0.0) + float(case.get("time") or 0), 1)
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(name)
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
    return {"passed": passed, "failed": failed, "skipped": skipped, "seconds_per_module": seconds}


def summary(
    reports: list[dict[str, Any]], tests: dict[str, Any], sizes: dict[str, str], seconds: float
) -> Any:
    by_fault = {entry.pop("fault"): entry for entry in reports}
    kills = by_fault.get("worker_killed", {})
    restarts = [by_fault[name] for name in ("redis_restart", "postgres_restart") if name in by_fault]
    counted = [kills, *restarts] if kills else restarts
    fuzz = by_fault.get("openapi_fuzz", {})
    fuzz_failures = [name for name in tests["failed"] if "openapi_fuzz" in name]
    in_flight = [kill["in_flight"] for kill in kills.get("kills", []) if "in_flight" in kill]
    totals = {
        "notifications_placed": sum(entry["notifications_placed"] for entry in counted),
        "final": sum(entry["final"] for entry in counted),
        "lost": sum(entry["lost"] for entry in counted),
        "duplicated_destinations": kills.get("duplicated_destinations"),
        "messages_sent_twice": kills.get("extra_messages"),
        "in_flight_at_kills": kills.get("in_flight"),
    }
    expected = ("worker_killed", "redis_restart", "postgres_restart", "openapi_fuzz")
    missing = [name for name in expected if name not in by_fault]
    held = (
        not tests["failed"]
        and not missing
        and totals["lost"] == 0
        and kills["extra_messages"] <= kills["in_flight"]
        and fuzz.get("cases", 0) >= int(sizes["FUZZ_CASES"])
    )
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count()},
        "sizes": sizes,
        "runtime_seconds": round(seconds, 1),
        "held": held,
        "totals": totals,
        "worker_kills": {**kills, "in_flight_per_send_kill": in_flight},
        "redis_restart": by_fault.get("redis_restart"),
        "postgres_restart": by_fault.get("postgres_restart"),
        "api_fuzz": {**fuzz, "failed_operations": len(fuzz_failures)},
        "tests": tests,
        "not_reported": missing,
    }


def printed(result: dict[str, Any]) -> str:
    totals, kills = result["totals"], result["worker_kills"]
    fuzz, tests = result["api_fuzz"], result["tests"]
    lines = [
        f"soak {result['date']} on {result['machine']['cpus']} cores, "
        f"{result['runtime_seconds'] / 60:.1f} min: {'HELD' if result['held'] else 'FAILED'}",
        f"  notifications placed {totals['notifications_placed']}, final {totals['final']}, "
        f"lost {totals['lost']}",
        f"  duplicated destinations {totals['duplicated_destinations']} "
        f"({totals['messages_sent_twice']} messages sent twice), "
        f"in flight at the kills {totals['in_flight_at_kills']}",
    ]
    if kills:
        lines.append(
            f"  worker: {kills.get('sigkills')} SIGKILLs (seed {kills.get('seed')}), "
            f"{kills.get('notifications')} notifications, {kills.get('delivered')} delivered; "
            f"in flight per send-batch kill: {kills.get('in_flight_per_send_kill')}"
        )
    for name in ("redis_restart", "postgres_restart"):
        entry = result[name]
        if entry:
            details = ", ".join(f"{key} {value}" for key, value in entry.items())
            lines.append(f"  {name.replace('_', ' ')}: {details}")
    lines.append(
        f"  API fuzz: {fuzz.get('cases')} cases over {fuzz.get('operations')} operations, "
        f"{fuzz['failed_operations']} operations failing"
    )
    lines.append(f"  tests: {tests['passed']} passed, {len(tests['failed'])} failed {tests['failed'] or ''}")
    lines.append(f"  seconds per test module: {tests.get('seconds_per_module')}")
    if result["not_reported"]:
        lines.append(f"  no numbers from: {', '.join(result['not_reported'])}")
    return "\n".join(lines)


def main(pytest_args: list[str]) -> int:
    sizes = {name: os.environ.get(name) or default for name, default in SIZES.items()}
    with tempfile.TemporaryDirectory(prefix="soak-") as folder:
        report, junit = Path(folder) / "report.jsonl", Path(folder) / "junit.xml"
        env = {**os.environ, **sizes, "FAULTS_REPORT": str(report)}
        started = time.monotonic()
        exit_code = run_tests(env, junit, pytest_args)
        seconds = time.monotonic() - started
        lines = report.read_text(encoding="utf-8").splitlines() if report.exists() else []
        result = summary([json.loads(line) for line in lines], test_results(junit), sizes, seconds)
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    # The summary is this command's output (stdout, as pytest's own summary).
    sys.stdout.write(f"{printed(result)}\n  written to {RESULT.relative_to(ROOT)}\n")
    return 0 if result["held"] and exit_code == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
