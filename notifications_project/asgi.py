"""The web process: Django's WSGI application on a fixed thread pool, behind the request body middleware.

Granian reads requests in Rust and hands them to this ASGI application. ``RequestBodyMiddleware`` reads
each whole body as a coroutine (within a deadline and a size cap), so a slow client never holds a thread;
only complete requests reach Django, which reads the body from memory. Django then runs as a WSGI
application on a fixed pool of ``WEB_CONCURRENT_REQUESTS`` threads (a2wsgi), not on a new thread per
request as Django's own ASGI handler does: each thread keeps its persistent database connection
(``CONN_MAX_AGE``) and no request pays for a thread, a connection or the sync/async adaptation of every
middleware. Measured side by side, Django's ASGI handler served half the requests per second of this
arrangement.
"""

from __future__ import annotations

import os

import django
from a2wsgi import WSGIMiddleware
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifications_project.settings")
django.setup(set_prefix=False)

from core.tracing import setup_tracing  # noqa: E402  (reads the settings)

setup_tracing()  # before the handler below loads the middleware: tracing adds one
django_application = get_wsgi_application()

from django.conf import settings  # noqa: E402  (configured by get_wsgi_application)

from core.warmup import warm_up  # noqa: E402

# Each worker loads the URL configuration and the views now, not during its first requests.
warm_up()

from core.request_body import RequestBodyMiddleware, buffered_wsgi_input  # noqa: E402

application = RequestBodyMiddleware(
    WSGIMiddleware(
        buffered_wsgi_input(django_application),  # type: ignore[arg-type]
        workers=settings.WEB_CONCURRENT_REQUESTS,
    )
)
