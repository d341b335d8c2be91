from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The kernel every app shares: auth, problem details, the outbound guard, throttling, tokens,
    log filters and the admin's base. It imports no app. Registered first so its admin templates
    override django.contrib.admin's, and so its management commands (issue_token) are found."""

    name = "core"
    verbose_name = "Notification service"

    def ready(self) -> None:
        from django.core import checks

        from core import schema  # noqa: F401  (registers the OpenAPI extension)
        from core.auth import check_key_sets
        from core.checks import check_allowed_hosts

        checks.register(check_key_sets, checks.Tags.security)
        checks.register(check_allowed_hosts, checks.Tags.security)
