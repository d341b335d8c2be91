"""System checks of the deployment's settings that the kernel owns."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


def check_allowed_hosts(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """An empty ALLOWED_HOSTS refuses every request but /health: refuse to start instead.

    Django's debug mode is always off here, so nothing adds localhost for it; an empty list (DEBUG off and
    ALLOWED_HOSTS unset) would serve a healthy-looking instance that answers every API call with a bare 400.
    ``migrate`` and ``check`` run this, and so does ``make run`` (it migrates before it starts anything).
    """
    if settings.ALLOWED_HOSTS:
        return []
    return [
        checks.Error(
            "ALLOWED_HOSTS is empty: every request but /health would be refused with 400.",
            hint="Set ALLOWED_HOSTS to the host names clients call the service by (comma-separated, e.g. "
            "notifications.example.org), or DEBUG=true for local use on localhost.",
            obj="ALLOWED_HOSTS",
            id="notifications.E003",
        )
    ]
