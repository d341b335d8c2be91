"""Wiring of the notification service: settings, URLs, the Celery app, WSGI/ASGI."""

from notifications_project.celery import app as celery_app

__all__ = ["celery_app"]
