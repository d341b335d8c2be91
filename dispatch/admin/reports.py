"""The admin of delivery attempts and delivery reports: every send attempt, and re-applying dead reports."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBase
from django.urls import URLPattern, path
from django.utils.safestring import SafeString

from core.admin.base import ObjectButton, ReadOnlyModelAdmin
from core.admin.filters import distinct_values
from core.admin.html import pre
from dispatch.admin.notifications import notification_link
from dispatch.models import DeliveryAttempt, DeliveryReport, ReportState
from dispatch.services.reports import delivery_report_reapply
from orders.admin.audit import audit_history
from orders.admin.search import search_term_parse
from orders.audit import AuditAction, AuditOutcome, audit_record

REPORT_PROVIDERS_MAX = 100


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyModelAdmin):
    change_form_template = None  # the standard read-only page
    list_display = (
        "started_at",
        "channel",
        "notification",
        "attempt",
        "provider",
        "outcome",
        "status",
        "duration_ms",
    )
    list_filter = ("outcome", "channel", "started_at")
    search_fields = ("notification_id",)  # replaced by get_search_results
    search_help_text = "Exact notification id."
    ordering = ("-started_at",)
    sortable_by = ("started_at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[DeliveryAttempt]:
        return super().get_queryset(request).defer("raw_response")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[DeliveryAttempt], search_term: str
    ) -> tuple[QuerySet[DeliveryAttempt], bool]:
        term = search_term_parse(search_term)
        if not term.text:
            return queryset, False
        if term.uuid is None:
            return queryset.none(), False
        return queryset.filter(notification_id=term.uuid), False

    @admin.display(description="Notification")
    def notification(self, attempt: DeliveryAttempt) -> SafeString | str:
        return notification_link(attempt.channel, attempt.notification_id)


def report_providers() -> list[str]:
    """The providers that sent reports, by a loose index scan over report_reference (one probe each)."""
    return distinct_values(DeliveryReport, "provider", REPORT_PROVIDERS_MAX)


class ReportStateFilter(admin.SimpleListFilter):
    """Dead reports first: the list opens on them, since they are what needs a person."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return [(str(value), str(label)) for value, label in ReportState.choices] + [("all", "All")]

    def choices(self, changelist: Any) -> Any:
        # Without Django's leading "All" (no parameter), which here would mean the default, "dead".
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def value(self) -> str:
        return super().value() or ReportState.DEAD

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset if value == "all" else queryset.filter(state=value)


@admin.register(DeliveryReport)
class DeliveryReportAdmin(ReadOnlyModelAdmin):
    list_display = (
        "received_at",
        "channel",
        "provider",
        "reference",
        "provider_status",
        "mapped_status",
        "state",
        "reason",
        "notification",
    )
    list_filter = (ReportStateFilter, "reason", "channel", "received_at")
    search_fields = ("reference",)  # replaced by get_search_results
    search_help_text = "Exact provider message id."
    ordering = ("-received_at",)
    sortable_by = ("received_at",)
    actions = ("reapply_selected",)
    fields = (
        "received_at",
        "channel",
        "provider",
        "reference",
        "notification",
        "provider_status",
        "mapped_status",
        "intermediate",
        "state",
        "reason",
        "attempts",
        "processed_at",
        "next_attempt_at",
        "raw_pretty",
        "audit_entries",
    )

    def has_reapply_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("dispatch.change_deliveryreport")

    def get_queryset(self, request: HttpRequest) -> QuerySet[DeliveryReport]:
        return super().get_queryset(request).defer("raw")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[DeliveryReport], search_term: str
    ) -> tuple[QuerySet[DeliveryReport], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        # provider IN (...) lets the (provider, reference) index serve a search by reference alone.
        return queryset.filter(provider__in=report_providers(), reference=term), False

    @admin.display(description="Notification")
    def notification(self, report: DeliveryReport) -> SafeString | str:
        return notification_link(report.channel, report.notification_id)

    @admin.display(description="Raw report")
    def raw_pretty(self, report: DeliveryReport) -> SafeString:
        try:
            text = json.dumps(json.loads(report.raw), indent=2, ensure_ascii=False)
        except ValueError:
            text = report.raw
        return pre(text or "(empty)")

    @admin.display(description="Audit log")
    def audit_entries(self, report: DeliveryReport) -> SafeString:
        return audit_history(str(report.pk))

    def object_buttons(self, request: HttpRequest, obj: Any) -> list[ObjectButton]:
        buttons = super().object_buttons(request, obj)
        if obj.state in (ReportState.DEAD, ReportState.PENDING) and self.has_reapply_permission(request):
            buttons.append(ObjectButton("Re-apply", self.object_url(obj, "reapply")))
        return buttons

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/reapply/",
                self.post_only_object_view(self.reapply_view),
                name="dispatch_deliveryreport_reapply",
            ),
            *super().get_urls(),
        ]

    def _reapply(self, request: HttpRequest, report: DeliveryReport) -> bool:
        before = report.state
        if before not in (ReportState.DEAD, ReportState.PENDING):
            audit_record(
                actor=request.user,
                action=AuditAction.REPORT_REAPPLY,
                outcome=AuditOutcome.REFUSED,
                target=report,
                details={"state": before, "reason": "only dead or pending reports are re-applied"},
            )
            return False
        report = delivery_report_reapply(report=report)
        applied = report.state in (ReportState.APPLIED, ReportState.IGNORED)
        audit_record(
            actor=request.user,
            action=AuditAction.REPORT_REAPPLY,
            outcome=AuditOutcome.DONE if applied else AuditOutcome.FAILED,
            target=report,
            details={"from_state": before, "state": report.state, "reason": report.reason},
        )
        return applied

    def reapply_view(self, request: HttpRequest, report: DeliveryReport) -> HttpResponseBase:
        if not self.has_reapply_permission(request):
            raise PermissionDenied
        if self._reapply(request, report):
            self.message_user(request, f"Report {report.pk} was applied ({report.state}).", messages.SUCCESS)
        else:
            self.message_user(
                request,
                f"Report {report.pk} could not be applied: {report.state} {report.reason}".rstrip(),
                messages.WARNING,
            )
        return self.redirect_to_object(report)

    @admin.action(description="Re-apply selected reports", permissions=["reapply"])
    def reapply_selected(self, request: HttpRequest, queryset: QuerySet[DeliveryReport]) -> None:
        applied = failed = 0
        for report in queryset[: self.list_max_show_all]:
            if self._reapply(request, report):
                applied += 1
            else:
                failed += 1
        if applied:
            self.message_user(request, f"Applied {applied} report(s).", messages.SUCCESS)
        if failed:
            self.message_user(request, f"{failed} report(s) could still not be applied.", messages.WARNING)
