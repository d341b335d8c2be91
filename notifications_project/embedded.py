"""The embedded default: a private PostgreSQL and Redis, started by the run and test commands.

``python -m notifications_project.embedded run``  — start PostgreSQL and Redis under ``var/`` (data survives
restarts), migrate, create the demo staff user, print how to use the service, then run web (Granian, on
127.0.0.1 unless ``HOST`` says otherwise), a Celery worker and Celery beat in the foreground. A process
that exits is restarted, backing off; Ctrl-C (or SIGTERM) stops every process it started.

``python -m notifications_project.embedded test`` — start a throwaway PostgreSQL and Redis in a temporary
folder (never a developer's data), then run ruff, mypy, the migrations check, the OpenAPI validation and
pytest; exit non-zero on the first failure.

When ``DATABASE_URL`` / ``CELERY_BROKER_URL`` are set, those servers are used and none is started.
The parts live in :mod:`notifications_project.launcher`.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence

from notifications_project.launcher import BASE_DIR


def main(argv: Sequence[str]) -> int:
    if not argv or argv[0] not in {"run", "test"}:
        print("usage: python -m notifications_project.embedded run | test [pytest args...]")
        return 2
    os.chdir(BASE_DIR)
    if argv[0] == "run":
        from notifications_project.launcher.run import run

        return run()
    from notifications_project.launcher.checks import test

    # A terminated test run (CI timeout, kill) still stops its throwaway servers and removes their folder.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    return test(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
