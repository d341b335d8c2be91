"""The Celery app; configuration lives in settings under the CELERY_ namespace."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger, worker_process_init

from core.logfilters import add_to_handlers, add_trace_context_to_handlers
from core.tracing import setup_tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifications_project.settings")

app = Celery("notifications_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# A worker replaces the root logger's handlers with its own: mask personal data in those too, and give
# their records the trace ids.
after_setup_logger.connect(add_to_handlers, weak=False)
after_setup_task_logger.connect(add_to_handlers, weak=False)
after_setup_logger.connect(add_trace_context_to_handlers, weak=False)
after_setup_task_logger.connect(add_trace_context_to_handlers, weak=False)


@worker_process_init.connect(weak=False)
def _setup_tracing(**_: object) -> None:
    """Tracing in the process that runs the tasks: each prefork child (the exporter's thread would not
    survive the fork from the parent), or the worker itself with the solo pool."""
    setup_tracing()
