"""The contact registry: who a national identity number or organization number reaches, and how."""

from __future__ import annotations

from django.conf import settings

from orders.registry.base import ContactRegistry, UserContactRegistry


def get_registry() -> ContactRegistry:
    """The configured backend: ``database`` (default) or ``http`` (an external register)."""
    if settings.NOTIFICATIONS_REGISTRY_BACKEND == "http":
        from orders.registry.http import HttpRegistry

        return HttpRegistry.from_settings()
    from orders.registry.database import DatabaseRegistry

    return DatabaseRegistry()


def get_user_contact_registry() -> UserContactRegistry:
    """Where persons' contact points for organizations come from: the same backend as ``get_registry``."""
    if settings.NOTIFICATIONS_REGISTRY_BACKEND == "http":
        from orders.registry.http import HttpRegistry

        return HttpRegistry.from_settings()
    from orders.registry.database import DatabaseRegistry

    return DatabaseRegistry()
