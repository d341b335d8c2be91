"""``make test``: every check, against a throwaway PostgreSQL and Redis in a temporary folder (never a
developer's data); ``TEST_STEPS=pytest,mypy`` runs only the steps named."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from notifications_project.launcher import BASE_DIR
from notifications_project.launcher.servers import missing_servers

TYPED_PACKAGES = ("core", "notifications_project", "orders", "dispatch", "templates")


def steps(pytest_args: Sequence[str]) -> list[tuple[str, list[str]]]:
    python = sys.executable
    return [
        ("ruff", [python, "-m", "ruff", "check", "."]),
        ("ruff format", [python, "-m", "ruff", "format", "--check", "."]),
        ("mypy", [python, "-m", "mypy", *TYPED_PACKAGES]),
        # The dependency directions between the packages (pyproject.toml, [tool.importlinter]).
        ("imports", [str(Path(python).parent / "lint-imports"), "--no-cache"]),
        ("migrations", [python, "manage.py", "makemigrations", "--check", "--dry-run"]),
        (
            "openapi",
            [python, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", os.devnull],
        ),
        ("pytest", [python, "-m", "pytest", *pytest_args]),
    ]


def test(pytest_args: Sequence[str]) -> int:
    """Run every check of the test command against throwaway servers; the first failure's exit status."""
    tmp = Path(tempfile.mkdtemp(prefix="notifications-test-"))
    try:
        with ExitStack() as stack:
            env = missing_servers(stack, tmp, throwaway=True)
            env.update(
                {
                    "DJANGO_SETTINGS_MODULE": "notifications_project.settings_test",
                    "NOTIFICATIONS_VAR_DIR": str(tmp / "var"),
                }
            )
            only = os.environ.get("TEST_STEPS")
            for name, cmd in steps(pytest_args):
                if only and name not in only.split(","):
                    continue
                print(f"==> {name}", flush=True)
                started = time.monotonic()
                result = subprocess.run(cmd, env=env, cwd=BASE_DIR, check=False)
                print(
                    f"<== {name}: exit {result.returncode} in {time.monotonic() - started:.1f}s", flush=True
                )
                if result.returncode != 0:
                    return result.returncode
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
