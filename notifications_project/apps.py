from __future__ import annotations

from django.apps import AppConfig


class NotificationsProjectConfig(AppConfig):
    """Registers the project package so its management commands (issue_token) are found."""

    name = "notifications_project"
    verbose_name = "Notification service"

    def ready(self) -> None:
        from django.core import checks

        from notifications_project import schema  # noqa: F401  (registers the OpenAPI extension)
        from notifications_project.auth import check_key_sets

        checks.register(check_key_sets, checks.Tags.security)
