"""In CI, a skipped test fails the run unless ``tests/allowed_skips.toml`` lists it with a reason.

A skip in CI (a missing browser, a missing server, an ``importorskip``) means a check that never ran, and
"1 skipped" at the end of a long run is easy to miss. So when the environment variable ``CI`` is set (to
anything but empty, ``0`` or ``false``; ``.ci/run`` sets ``CI=true``), every test that was skipped, at
collection or at run time, and every expected failure (``xfail``: a test kept in the suite while it does
not pass) is listed at the end of the session and the run exits with status 1 -- unless its node id is in
the allow-list. The tests themselves still run as usual; only the verdict changes.

Outside CI a skip is reported as pytest always reports it, so a developer without, say, Chromium can still
run the rest; ``CI=true make test`` gives the CI verdict locally.

The allow-list (a TOML file, ``[allowed]`` table: node id = reason) is named by the ini option
``allowed_skips``, relative to the root directory. A key matches that node id, each of its parameter sets
(``key[...]``) and, for a module or class, everything in it (``key::...``). A listed test that ran and
passed is reported as stale so the list does not outlive its reasons.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

DEFAULT_ALLOW_LIST = "tests/allowed_skips.toml"


def ci_enabled() -> bool:
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


def load_allow_list(path: Path) -> dict[str, str]:
    """Node id -> reason; a missing file allows nothing, an entry without a reason is a usage error."""
    if not path.exists():
        return {}
    try:
        document = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise pytest.UsageError(f"{path}: {error}") from error
    allowed = document.get("allowed", {})
    if not isinstance(allowed, dict):
        raise pytest.UsageError(f"{path}: [allowed] must be a table of node id = reason")
    for node_id, reason in allowed.items():
        if not isinstance(reason, str) or not reason.strip():
            raise pytest.UsageError(f"{path}: {node_id!r} needs a reason (a non-empty string)")
    return dict(allowed)


def _matches(key: str, node_id: str) -> bool:
    return node_id == key or node_id.startswith((key + "[", key + "::"))


def _skip_reason(report: pytest.CollectReport | pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # (path, line, "Skipped: reason")
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


@dataclass(eq=False)  # a plugin object: compared and hashed by identity
class SkipGuard:
    """The plugin object: collects the skips of one session and gives the verdict at its end."""

    enabled: bool
    allowed: dict[str, str]
    source: str
    skipped: dict[str, tuple[str, str]] = field(default_factory=dict)  # node id -> (kind, reason)
    ran: set[str] = field(default_factory=set)  # node ids that ran without a skip or xfail

    def record(self, report: pytest.CollectReport | pytest.TestReport) -> None:
        if hasattr(report, "wasxfail"):
            self.skipped.setdefault(report.nodeid, ("XFAIL", str(report.wasxfail) or "no reason given"))
        elif report.skipped:
            self.skipped.setdefault(report.nodeid, ("SKIP", _skip_reason(report)))
        elif getattr(report, "when", None) == "call":
            self.ran.add(report.nodeid)

    def unlisted(self) -> dict[str, tuple[str, str]]:
        return {
            node_id: found
            for node_id, found in self.skipped.items()
            if not any(_matches(key, node_id) for key in self.allowed)
        }

    def stale(self) -> list[str]:
        """Listed keys whose tests ran here, none of them skipped."""
        return [
            key
            for key in self.allowed
            if any(_matches(key, node_id) for node_id in self.ran)
            and not any(_matches(key, node_id) for node_id in self.skipped)
        ]

    # --- hooks ---

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.skipped:
            self.record(report)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.record(report)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        # Only a run that would otherwise pass is turned into a failure; other exit codes say more.
        if self.enabled and self.unlisted() and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.enabled:
            return
        unlisted = self.unlisted()
        if unlisted:
            terminalreporter.write_sep("=", f"{len(unlisted)} not allowed to skip in CI", red=True)
            for node_id, (kind, reason) in unlisted.items():  # in the order they ran
                terminalreporter.write_line(f"{kind} {node_id} - {reason}")
            terminalreporter.write_line(
                f"Make them run in CI, or list them with the reason in {self.source} ([allowed] table)."
            )
        stale = self.stale()
        if stale:
            terminalreporter.write_sep("=", f"{len(stale)} allowed to skip in CI but ran", yellow=True)
            for key in stale:
                terminalreporter.write_line(f"{key} - remove it from {self.source}")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "allowed_skips",
        help="TOML file (relative to the root directory) of the tests that may be skipped in CI",
        default=DEFAULT_ALLOW_LIST,
    )


def pytest_configure(config: pytest.Config) -> None:
    source = str(config.getini("allowed_skips"))
    # Loaded outside CI too, so a broken allow-list is noticed before CI meets it.
    allowed = load_allow_list(config.rootpath / source)
    config.pluginmanager.register(
        SkipGuard(enabled=ci_enabled(), allowed=allowed, source=source), "skip-guard"
    )
