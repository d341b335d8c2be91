"""Celery entry points of the orders app (beat housekeeping); each calls one service."""

from __future__ import annotations

from celery import shared_task

from orders.feed import status_feed_purge


@shared_task(name="orders.status_feed_purge", ignore_result=True)
def status_feed_purge_task() -> None:
    """Beat: delete status feed entries past their retention."""
    status_feed_purge()
