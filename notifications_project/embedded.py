"""The embedded default: a private PostgreSQL and Redis, started by the run and test commands.

``python -m notifications_project.embedded run``  — start PostgreSQL and Redis under ``var/`` (data survives
restarts), migrate, create the demo staff user, print how to use the service, then run web (Granian, on
127.0.0.1 unless ``HOST`` says otherwise), a Celery worker and Celery beat in the foreground. A process
that exits is restarted, backing off; Ctrl-C (or SIGTERM) stops every process it started.

``python -m notifications_project.embedded test`` — start a throwaway PostgreSQL and Redis in a temporary
folder (never a developer's data), then run ruff, mypy, the migrations check, the OpenAPI validation and
pytest; exit non-zero on the first failure.

``python -m notifications_project.embedded web`` — replace itself with the web server (Granian) exactly as
``make run`` starts it, on ``HOST``:``PORT``, with the limits of the ``WEB_*`` variables: the web command of
a Procfile or a systemd unit (``deploy/``). Signals reach Granian directly.

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
    if not argv or argv[0] not in {"run", "test", "web"}:
        print("usage: python -m notifications_project.embedded run | web | test [pytest args...]")
        return 2
    os.chdir(BASE_DIR)
    if argv[0] == "web":
        from notifications_project.launcher.processes import web_command

        host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")
        command = web_command(os.environ, host=host, port=port)
        os.execv(command[0], command)  # the process manager's signals go to Granian itself
    if argv[0] == "run":
        from notifications_project.launcher.run import run

        return run()
    from notifications_project.launcher.checks import test

    # A terminated test run (CI timeout, kill) still stops its throwaway servers and removes their folder.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    return test(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
