from __future__ import annotations

from django.apps import AppConfig


class TemplatesConfig(AppConfig):
    """The notification-template app (email and SMS texts), not Django's HTML template folder."""

    name = "templates"
    label = "notification_templates"
    verbose_name = "Notification templates"
