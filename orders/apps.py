from __future__ import annotations

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        from django.core import checks

        from orders.checks import check_default_senders

        checks.register(check_default_senders)
