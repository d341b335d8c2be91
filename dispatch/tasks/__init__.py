"""Thin Celery entry points with stable names (`dispatch.*`); each calls one service."""

from typing import Any

from celery.signals import task_postrun, task_prerun, worker_init, worker_process_init, worker_shutting_down

from dispatch.services.sending.recorder import fresh_connections
from dispatch.services.window import send_window_warm_up
from dispatch.shutdown import stop_on_sigterm, stop_request

# Importing the task modules registers their tasks with Celery.
from dispatch.tasks import maintenance, processing, sending, status_callbacks  # noqa: F401


# Warm shutdown (SIGTERM): the run in hand finishes its batch and takes no more (dispatch/shutdown.py).
@worker_shutting_down.connect(weak=False)
def _worker_shutting_down(**kwargs: Any) -> None:
    stop_request()


# In the worker's parent, before the pool forks: every pool process inherits what is loaded here.
@worker_init.connect(weak=False)
def _worker_init(**kwargs: Any) -> None:
    send_window_warm_up()


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


# With CELERY_DB_REUSE_MAX (settings/broker.py) Celery no longer closes the connection around each task;
# what Django does around a request instead: drop a connection that broke, was left in a transaction or
# outlived CONN_MAX_AGE, and health-check the next use of a kept one.
@task_prerun.connect(weak=False)
@task_postrun.connect(weak=False)
def _connections_check(task: Any = None, **kwargs: Any) -> None:
    if task is not None and getattr(task.request, "is_eager", False):
        return  # run in the caller's process (tests): its connection and transaction are the caller's
    fresh_connections()
