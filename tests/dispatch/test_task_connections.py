"""A Celery worker process keeps its database connection from task to task, as a web worker does from
request to request: no new PostgreSQL backend per task, and still no broken or stale connection used."""

from __future__ import annotations

import pytest
from celery.fixups.django import DjangoWorkerFixup
from celery.signals import task_postrun, task_prerun
from django.db import connection

from dispatch.tasks.processing import orders_complete_task
from notifications_project.celery import app
from orders.models import Order

# Outside a test transaction: what is checked here is the connection itself.
pytestmark = pytest.mark.django_db(transaction=True)


def _run_task(fixup: DjangoWorkerFixup) -> None:
    """The signals a worker sends around one task (Celery's own fixup first, as it is connected first)."""
    task = orders_complete_task
    assert not task.request.is_eager
    fixup.on_task_prerun(sender=task)
    task_prerun.send(sender=task, task_id="t", task=task, args=(), kwargs={})
    Order.objects.count()  # the task's work
    fixup.on_task_postrun(sender=task)
    task_postrun.send(sender=task, task_id="t", task=task, args=(), kwargs={}, retval=None, state="SUCCESS")


def test_consecutive_tasks_use_the_same_database_connection():
    fixup = DjangoWorkerFixup(app)
    Order.objects.count()
    opened = connection.connection
    assert opened is not None

    _run_task(fixup)
    _run_task(fixup)

    assert connection.connection is opened  # Celery did not close it around the tasks
    assert not opened.closed


def test_a_connection_broken_between_tasks_is_replaced_before_the_next_task_uses_it():
    fixup = DjangoWorkerFixup(app)
    _run_task(fixup)
    broken = connection.connection
    broken.close()  # the server went away while the worker was idle

    _run_task(fixup)  # its query would raise on the broken connection

    assert connection.connection is not broken
    assert Order.objects.count() == 0


def test_a_connection_past_its_max_age_is_closed_and_the_next_task_opens_a_new_one():
    fixup = DjangoWorkerFixup(app)
    _run_task(fixup)
    kept = connection.connection
    connection.close_at = 0  # CONN_MAX_AGE has passed

    _run_task(fixup)

    assert kept.closed  # closed when the task started
    assert connection.connection is not kept  # the task's query opened a fresh one
