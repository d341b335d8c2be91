"""The admin of the providers' state: pauses, SMS provider health with its switches, and sandbox messages.

Every page is read-only: the pipeline writes these rows.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.safestring import SafeString

from core.admin.base import ReadOnlyModelAdmin
from dispatch.admin.notifications import notification_link
from dispatch.models import ProviderHealth, ProviderHealthEvent, ProviderPause, SandboxMessage


@admin.register(ProviderPause)
class ProviderPauseAdmin(ReadOnlyModelAdmin):
    change_form_template = None  # the standard read-only page
    list_display = ("key", "paused_until", "reason", "updated_at")
    ordering = ("key",)


@admin.register(SandboxMessage)
class SandboxMessageAdmin(ReadOnlyModelAdmin):
    change_form_template = None  # the standard read-only page
    list_display = (
        "created_at",
        "channel",
        "recipient",
        "subject",
        "report_status",
        "reported_at",
        "notification",
    )
    list_filter = ("channel", "created_at")
    search_fields = ("reference",)  # replaced by get_search_results
    search_help_text = "Exact sandbox reference."
    ordering = ("-created_at",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[SandboxMessage], search_term: str
    ) -> tuple[QuerySet[SandboxMessage], bool]:
        term = search_term.strip()
        return (queryset.filter(reference=term), False) if term else (queryset, False)

    @admin.display(description="Notification")
    def notification(self, message: SandboxMessage) -> SafeString | str:
        return notification_link(message.channel, message.notification_id)


@admin.register(ProviderHealth)
class ProviderHealthAdmin(ReadOnlyModelAdmin):
    list_display = ("key", "state", "changed_at", "reason")
    ordering = ("key",)
    sortable_by = ("key",)


@admin.register(ProviderHealthEvent)
class ProviderHealthEventAdmin(ReadOnlyModelAdmin):
    list_display = (
        "created_at",
        "key",
        "from_state",
        "to_state",
        "attempts",
        "errors",
        "latency_ms",
        "reason",
    )
    list_filter = ("key", "to_state", "created_at")
    ordering = ("-created_at",)
