from __future__ import annotations

from django.apps import AppConfig


class DispatchConfig(AppConfig):
    name = "dispatch"
    verbose_name = "Dispatch"

    def ready(self) -> None:
        # Provider adapters never import the services: the delivery reports they receive on their own
        # connections (an SMPP receiver or transceiver bind) reach the report service through this hook.
        from dispatch.providers.base import report_handler_set
        from dispatch.services.reports import delivery_report_handle

        report_handler_set(delivery_report_handle)
