"""Authorization of organizations' contact persons for a resource (the filter behind ``resourceId``)."""

from __future__ import annotations

from django.conf import settings

from orders.authorization.base import AuthorizationBackend


def get_authorization() -> AuthorizationBackend:
    """The configured backend: ``database`` (default) or ``http`` (an XACML decision point)."""
    if settings.NOTIFICATIONS_AUTHORIZATION_BACKEND == "http":
        from orders.authorization.http import HttpAuthorization

        return HttpAuthorization.from_settings()
    from orders.authorization.database import DatabaseAuthorization

    return DatabaseAuthorization()
