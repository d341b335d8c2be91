from __future__ import annotations

from django.apps import AppConfig


class NotificationsProjectConfig(AppConfig):
    """Registers the project package so its management commands (issue_token) are found."""

    name = "notifications_project"
    verbose_name = "Notification service"

    def ready(self) -> None:
        from notifications_project import schema  # noqa: F401  (registers the OpenAPI extension)
