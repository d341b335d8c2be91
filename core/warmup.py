"""What the first request of a web process would otherwise load: done once at start-up instead.

Django imports the URL configuration (and with it every app's views, serializers and their libraries) on
the first request, DRF resolves its classes from settings on first use, the key sets are read on the
first token and Celery imports the broker's transport on the first task published: together over half a
second of CPU, which the first requests of every worker waited for.
"""

from __future__ import annotations

from importlib import import_module

from celery import current_app
from django.conf import settings
from django.urls import get_resolver
from django.utils.module_loading import import_string
from rest_framework.settings import api_settings

from core.auth import key_set, platform_key_set

# DRF settings every API request reads: each is imported from its dotted path on first use.
_API_SETTINGS = (
    "DEFAULT_AUTHENTICATION_CLASSES",
    "DEFAULT_PERMISSION_CLASSES",
    "DEFAULT_THROTTLE_CLASSES",
    "DEFAULT_RENDERER_CLASSES",
    "DEFAULT_PARSER_CLASSES",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS",
    "EXCEPTION_HANDLER",
)


def warm_up() -> None:
    """Import the URL configuration and the apps' views, resolve DRF's classes and read the key sets."""
    resolver = get_resolver()
    _ = resolver.url_patterns  # imports notifications_project.urls and every app's urls and views
    _ = resolver.reverse_dict  # the reverse lookup tables (Location headers), built once per process
    for name in _API_SETTINGS:
        getattr(api_settings, name)
    # The middleware's lazily imported backends (the admin's messages and sessions).
    import_string(settings.MESSAGE_STORAGE)
    import_module(settings.SESSION_ENGINE)
    key_set.keys(report_missing=False)
    platform_key_set.keys(report_missing=False)
    _warm_task_publishing()


def _warm_task_publishing() -> None:
    """Import what publishing a task needs (the broker's transport, the message protocol), connecting
    nothing: a broker that is down at start-up is met at the first publish, as before."""
    app = current_app
    with app.connection_for_write() as connection:
        _ = connection.transport  # imports kombu's transport module for the broker URL's scheme
    _ = app.amqp.create_task_message  # the task message protocol
    _ = app.producer_pool  # the pool of producers, its connections made lazily
