"""Thin Celery entry points with stable names (`dispatch.*`); each calls one service."""

from typing import Any

from celery.signals import task_prerun, worker_process_init, worker_shutting_down

from dispatch.shutdown import stop_on_sigterm, stop_request

# Importing the task modules registers their tasks with Celery.
from dispatch.tasks import maintenance, processing, sending, status_callbacks  # noqa: F401


# Warm shutdown (SIGTERM): the run in hand finishes its batch and takes no more (dispatch/shutdown.py).
@worker_shutting_down.connect(weak=False)
def _worker_shutting_down(**kwargs: Any) -> None:
    stop_request()


_in_pool_process = False


@worker_process_init.connect(weak=False)
def _pool_process_init(**kwargs: Any) -> None:
    global _in_pool_process
    _in_pool_process = True


@task_prerun.connect(weak=False)
def _before_task(**kwargs: Any) -> None:
    # Only in a prefork pool process: in the worker process itself SIGTERM belongs to Celery.
    if _in_pool_process:
        stop_on_sigterm()
