"""Starting the service on one machine: private servers, the supervised process group, run and test.

``servers``      a private PostgreSQL and Redis (start, stop, restart on the same port, URL)
``processes``    the service's commands (web, Celery worker and beat) and the process group that runs them
``run``          ``make run``: the embedded default in the foreground (demo user, dev keys, banner)
``running_env``  how ``manage.py`` reaches the servers of a running ``make run``
``checks``       ``make test``: lint, type, migration and schema checks and pytest on throwaway servers

Used by the ``notifications_project.embedded`` entry point, the benchmarks and the tests; the kernel and
the apps never import it.
"""

from __future__ import annotations

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent
