"""Thin Celery entry points with stable names (`dispatch.*`); each calls one service."""

# Importing the task modules registers their tasks with Celery.
from dispatch.tasks import maintenance, processing, sending, status_callbacks  # noqa: F401
