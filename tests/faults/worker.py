"""A pipeline worker in its own OS process, for the fault tests to kill: ``python -m tests.faults.worker``.

It runs the services a Celery worker and beat run, in the order beat would schedule them, in a loop:
process due orders, send, return stuck sends, expire, complete. Configuration comes from the environment
(``DATABASE_URL`` names the test database), exactly as for the real processes.
"""

from __future__ import annotations

import logging
import os
import time

import django

logger = logging.getLogger("tests.faults.worker")


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifications_project.settings")
    django.setup()
    from django.db import DatabaseError, connection

    from dispatch.services.completion import orders_complete
    from dispatch.services.expiry import notifications_expire
    from dispatch.services.processing import orders_process_due
    from dispatch.services.sending import notifications_release_stuck, notifications_send

    idle = float(os.environ.get("FAULTS_WORKER_IDLE_SECONDS", "0.05"))
    backoff = idle
    logger.warning("worker %d started", os.getpid())
    while True:
        try:
            busy = orders_process_due(limit=10) > 0
            busy |= notifications_send(time_budget=5.0).claimed > 0
            busy |= notifications_release_stuck() > 0
            busy |= notifications_expire() > 0
            busy |= orders_complete() > 0
            backoff = idle
        except DatabaseError:
            # The database went away: drop the connection and wait longer each time, as the real
            # worker waits for its next beat tick.
            logger.exception("database error; retrying in %.2fs", backoff)
            connection.close()
            busy = False
            backoff = min(backoff * 2, 2.0)
        if not busy:
            time.sleep(backoff)


if __name__ == "__main__":
    main()
