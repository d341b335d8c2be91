"""Celery entry points of the orders app (beat housekeeping); each calls services."""

from __future__ import annotations

from celery import shared_task

from orders.chains import order_chain_requests_purge
from orders.feed import status_feed_content_purge, status_feed_purge


@shared_task(name="orders.future_purge", ignore_result=True)
def future_purge_task() -> None:
    """Beat: delete status feed entries past their retention; purge personal data kept by the future API
    (feed destinations, chain requests) once NOTIFICATIONS_RETENTION_DAYS has passed."""
    status_feed_purge()
    status_feed_content_purge()
    order_chain_requests_purge()
