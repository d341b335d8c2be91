"""The audit log in the admin: its own list, and the history block on the page of each object it concerns.

Every staff operation is written to the audit log (``orders.audit``), which the admin shows and never lets
anyone edit.
"""

from __future__ import annotations

import json

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from core.admin.base import ReadOnlyModelAdmin
from core.admin.html import html_table, pre
from orders.audit import AuditEntry

AUDIT_ENTRIES_SHOWN = 20


def audit_history(target_id: str) -> SafeString:
    """The newest audit entries about one object, as a small table."""
    entries = list(
        AuditEntry.objects.filter(target_id=target_id).order_by("-created_at")[:AUDIT_ENTRIES_SHOWN]
    )
    if not entries:
        return mark_safe("<p>No staff operations recorded.</p>")  # noqa: S308 (a constant)
    return html_table(
        ["When (UTC)", "Who", "What", "Outcome", "Details"],
        (
            (
                f"{entry.created_at:%Y-%m-%d %H:%M:%S}",
                entry.actor_username,
                entry.get_action_display(),
                entry.get_outcome_display(),
                format_html("<code>{}</code>", json.dumps(entry.details, ensure_ascii=False)),
            )
            for entry in entries
        ),
    )


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyModelAdmin):
    """Never editable, not even by a superuser: the log is only as good as its immutability."""

    list_display = ("created_at", "actor_username", "action", "target_link", "outcome", "short_details")
    list_filter = ("action", "outcome", "created_at")
    search_fields = ("target_id",)  # replaced by get_search_results
    search_help_text = "Exact match: the id of a notification, order or registry entry, or a username."
    ordering = ("-created_at",)
    fields = (
        "created_at",
        "actor_username",
        "action",
        "target_type",
        "target_link",
        "outcome",
        "details_pretty",
    )
    readonly_fields = fields
    change_form_template = None  # the standard read-only page

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[AuditEntry], search_term: str
    ) -> tuple[QuerySet[AuditEntry], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(target_id=term) | Q(actor_username=term)), False

    @admin.display(description="Target")
    def target_link(self, entry: AuditEntry) -> SafeString | str:
        if not entry.target_type:
            return "-"
        app_label, _, model_name = entry.target_type.partition(".")
        try:
            url = reverse(f"admin:{app_label}_{model_name}_change", args=[entry.target_id])
        except Exception:  # a target type without an admin page
            return f"{entry.target_type} {entry.target_id}"
        return format_html('<a href="{}">{} {}</a>', url, model_name, entry.target_id)

    @admin.display(description="Details")
    def short_details(self, entry: AuditEntry) -> str:
        text = json.dumps(entry.details, ensure_ascii=False)
        return text if len(text) <= 120 else text[:117] + "..."

    @admin.display(description="Details")
    def details_pretty(self, entry: AuditEntry) -> SafeString:
        return pre(json.dumps(entry.details, indent=2, ensure_ascii=False))
