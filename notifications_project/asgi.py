"""The web process: Django's ASGI application behind the request body middleware (served by Granian).

Under ASGI every request's sync code runs on a thread of its own, so a persistent database connection
per thread would stay open after each finished request: the web process takes its connections from a
pool instead (``DATABASE_POOL``, see settings). Celery workers and ``manage.py`` do not import this module
and keep one persistent connection per process.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifications_project.settings")
os.environ.setdefault("DATABASE_POOL", "true")

django_application = get_asgi_application()

from notifications_project.request_body import RequestBodyMiddleware  # noqa: E402  (needs settings)

application = RequestBodyMiddleware(django_application)
