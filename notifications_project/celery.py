"""The Celery app; configuration lives in settings under the CELERY_ namespace."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifications_project.settings")

app = Celery("notifications_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
