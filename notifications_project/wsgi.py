from __future__ import annotations

import os

import django
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifications_project.settings")
django.setup(set_prefix=False)

from core.tracing import setup_tracing  # noqa: E402  (reads the settings)

setup_tracing()  # before the handler below loads the middleware: tracing adds one
application = get_wsgi_application()
