"""Thin Celery entry points with stable names (`dispatch.*`); each calls one service."""

from dispatch.tasks import processing  # noqa: F401 - registers the tasks
from dispatch.tasks import sending  # noqa: F401 - registers the tasks
