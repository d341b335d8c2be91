"""The admin of notifications, delivery attempts and delivery reports: find, inspect, retry, re-apply.

The notification admins live here rather than in ``orders.admin`` because their detail pages show the
pipeline's bookkeeping (attempts, reports) and their actions call the pipeline's retry service; ``orders``
never imports ``dispatch``. The same reason adds "retry failed notifications" to the order admin here.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest, HttpResponseBase
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from core.masking import mask_nin
from dispatch.models import (
    Channel,
    DeliveryAttempt,
    DeliveryReport,
    ProviderPause,
    ReportState,
    SandboxMessage,
)
from dispatch.services.reports import delivery_report_reapply
from dispatch.services.retry import (
    RetryRefused,
    RetrySummary,
    notification_retry,
    notifications_retry,
    order_notifications_retry,
    retryable_statuses,
)
from orders.admin import (
    ObjectButton,
    OpsModelAdmin,
    OrderAdmin,
    audit_history,
    folded,
    html_table,
    pre,
    search_term_parse,
)
from orders.audit import AuditAction, AuditOutcome, audit_record
from orders.models import (
    EMAIL_FAILED_STATUSES,
    EMAIL_PENDING_STATUSES,
    SMS_FAILED_STATUSES,
    SMS_PENDING_STATUSES,
    EmailNotification,
    Order,
    OrderStatus,
    SmsNotification,
)

ATTEMPTS_SHOWN = 100
REPORTS_SHOWN = 100
# The most a "retry selected" runs on; more is what "retry failed notifications" of an order is for.
RETRY_SELECTION_LIMIT = 500

Notification = EmailNotification | SmsNotification


def retry_message(summary: RetrySummary) -> list[tuple[int, str]]:
    """What a retry did, as admin messages: the count re-queued, then each refusal reason with its count."""
    result = []
    if summary.retried:
        result.append((messages.SUCCESS, f"Re-queued {summary.retried} notification(s) for sending."))
    for reason, ids in summary.refused.items():
        result.append((messages.WARNING, f"Not retried, {reason}: {len(ids)} notification(s)."))
    if not summary.retried and not summary.refused:
        result.append((messages.INFO, "No failed notification to retry."))
    return result


class StatusFilter(admin.SimpleListFilter):
    """Every status, plus "has failed" (any Failed_*) and "still in flight" (New, Sending, sent)."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        choices = model_admin.model._meta.get_field("status").choices or []
        return [
            ("failed", "Has failed"),
            ("in_flight", "Still in flight"),
            *((str(v), str(v)) for v, _ in choices),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        email = queryset.model is EmailNotification
        if value == "failed":
            # The same list as the <channel>_failed partial index predicate, so PostgreSQL uses it.
            return queryset.filter(status__in=sorted(EMAIL_FAILED_STATUSES if email else SMS_FAILED_STATUSES))
        if value == "in_flight":
            return queryset.filter(
                status__in=sorted(EMAIL_PENDING_STATUSES if email else SMS_PENDING_STATUSES)
            )
        if value:
            return queryset.filter(status=value)
        return queryset


class NotificationAdmin(OpsModelAdmin):
    """Shared by the email and SMS notification admins; ``address_field`` is the recipient column."""

    address_field = ""
    channel = ""
    list_display = (
        "id",
        "status_name",
        "recipient",
        "recipient_identifier",
        "attempts",
        "short_error",
        "created_at",
        "order_link",
    )
    list_filter: ClassVar[tuple[Any, ...]] = (StatusFilter, "order__notification_channel", "created_at")
    search_fields = ("id",)  # replaced by get_search_results
    search_help_text = (
        "Exact match: notification id, order id, mobile number or email address, NIN (11 digits), "
        "organization number (9 digits) or provider reference."
    )
    ordering = ("-created_at",)
    actions = ("retry_selected",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"orders.retry_{self.model._meta.model_name}")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # The texts can be kilobytes per row; the list never shows them (the detail page loads them).
        return (
            super()
            .get_queryset(request)
            .defer("body", *(["subject"] if self.channel == Channel.EMAIL else []))
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        term = search_term_parse(search_term)
        if not term.text:
            return queryset, False
        # Each alternative is an equality on an indexed column, so the OR is a bitmap OR of index scans.
        condition = Q(provider_reference=term.text)
        if term.uuid is not None:
            condition |= Q(id=term.uuid) | Q(order_id=term.uuid)
        if term.nin:
            condition |= Q(recipient_national_identity_number=term.nin)
        if term.organization_number:
            condition |= Q(recipient_organization_number=term.organization_number)
        if self.channel == Channel.EMAIL and term.email_addresses:
            # Served by the functional index email_to_address_upper.
            condition |= Q(to_address__iexact=term.text)
        elif self.channel == Channel.SMS and term.mobile_numbers:
            condition |= Q(mobile_number__in=term.mobile_numbers)
        return queryset.filter(condition), False

    # --- list columns ---

    @admin.display(description="Recipient")
    def recipient(self, obj: Notification) -> str:
        return str(getattr(obj, self.address_field)) or "-"

    @admin.display(description="NIN / organization")
    def recipient_identifier(self, obj: Notification) -> str:
        if obj.recipient_national_identity_number:
            return mask_nin(obj.recipient_national_identity_number)
        return obj.recipient_organization_number or "-"

    @admin.display(description="Last error")
    def short_error(self, obj: Notification) -> str:
        return obj.last_error if len(obj.last_error) <= 80 else obj.last_error[:77] + "..."

    @admin.display(description="Order")
    def order_link(self, obj: Notification) -> SafeString:
        url = reverse("admin:orders_order_change", args=[obj.order_id])
        return format_html('<a href="{}">{}</a>', url, str(obj.order_id)[:8])

    # --- detail page ---

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        extra = ("sending_time_policy", "parts") if self.channel == Channel.SMS else ()
        return (
            (
                "Notification",
                {
                    "fields": (
                        "id",
                        "order_link",
                        "status_name",
                        "status_changed_at",
                        "created_at",
                        "expires_at",
                        *extra,
                    )
                },
            ),
            (
                "Recipient",
                {
                    "fields": (
                        self.address_field,
                        "recipient_name",
                        "recipient_nin",
                        "recipient_organization_number",
                        "recipient_position",
                    )
                },
            ),
            (
                "Sending",
                {
                    "fields": (
                        "attempts",
                        "provider",
                        "provider_reference",
                        "not_before",
                        "claimed_at",
                        "claim_id",
                        "lease_until",
                        "last_error",
                    )
                },
            ),
            ("Text as sent", {"fields": ("rendered_text",)}),
            ("Delivery attempts", {"fields": ("attempts_table",)}),
            ("Delivery reports", {"fields": ("reports_table",)}),
            ("Staff operations", {"fields": ("audit_entries",)}),
        )

    @admin.display(description="National identity number")
    def recipient_nin(self, obj: Notification) -> str:
        # In full here; masked for users without orders.view_full_nin by the admin site.
        return obj.recipient_national_identity_number or "-"

    @admin.display(description="Text")
    def rendered_text(self, obj: Notification) -> SafeString:
        order = Order.objects.select_related("email_template", "sms_template").get(id=obj.order_id)
        if isinstance(obj, EmailNotification):
            template = order.email_template
            subject = obj.subject if obj.subject is not None else (template.subject if template else "")
            body = obj.body if obj.body is not None else (template.body if template else "")
            return format_html(
                "<p>From: {}<br>Subject: {}<br>Content type: {}</p>{}",
                template.from_address if template else "-",
                subject,
                template.content_type if template else "-",
                pre(body),
            )
        sms_template = order.sms_template
        body = obj.body if obj.body is not None else (sms_template.body if sms_template else "")
        return format_html(
            "<p>Sender: {}</p>{}", sms_template.sender_number if sms_template else "-", pre(body)
        )

    @admin.display(description="Attempts")
    def attempts_table(self, obj: Notification) -> SafeString:
        attempts = list(
            DeliveryAttempt.objects.filter(channel=self.channel, notification_id=obj.id).order_by(
                "started_at"
            )[:ATTEMPTS_SHOWN]
        )
        if not attempts:
            return mark_safe("<p>No send attempts.</p>")  # noqa: S308 (a constant)
        return html_table(
            [
                "Started (UTC)",
                "#",
                "Provider",
                "Outcome",
                "Status after",
                "ms",
                "Provider reference",
                "Error",
                "Provider's answer",
            ],
            (
                (
                    f"{a.started_at:%Y-%m-%d %H:%M:%S}",
                    a.attempt,
                    a.provider,
                    a.outcome,
                    a.status,
                    a.duration_ms,
                    a.provider_reference or "-",
                    a.error or "-",
                    folded(pre(a.raw_response or "(empty)")),
                )
                for a in attempts
            ),
        )

    @admin.display(description="Reports")
    def reports_table(self, obj: Notification) -> SafeString:
        condition = Q(notification_id=obj.id)
        references = set(
            DeliveryAttempt.objects.filter(
                channel=self.channel, notification_id=obj.id, provider_reference__isnull=False
            ).values_list("provider", "provider_reference")
        )
        # Reports matched by the provider's message id, including any that arrived for an earlier send.
        for provider, reference in references:
            condition |= Q(provider=provider, reference=reference)
        reports = list(
            DeliveryReport.objects.filter(condition, channel=self.channel).order_by("received_at")[
                :REPORTS_SHOWN
            ]
        )
        if not reports:
            return mark_safe("<p>No delivery reports.</p>")  # noqa: S308 (a constant)
        return html_table(
            ["Received (UTC)", "Provider", "Provider status", "Mapped to", "State", "Reason", "Raw report"],
            (
                (
                    format_html(
                        '<a href="{}">{}</a>',
                        reverse("admin:dispatch_deliveryreport_change", args=[r.pk]),
                        f"{r.received_at:%Y-%m-%d %H:%M:%S}",
                    ),
                    r.provider,
                    r.provider_status or "-",
                    r.mapped_status or ("(intermediate)" if r.intermediate else "-"),
                    r.state,
                    r.reason or "-",
                    folded(pre(r.raw or "(empty)")),
                )
                for r in reports
            ),
        )

    @admin.display(description="Audit log")
    def audit_entries(self, obj: Notification) -> SafeString:
        return audit_history(str(obj.id))

    # --- retry ---

    def object_buttons(self, request: HttpRequest, obj: Any) -> list[ObjectButton]:
        buttons = super().object_buttons(request, obj)
        if obj.status in retryable_statuses(self.model) and self.has_retry_permission(request):
            buttons.append(ObjectButton("Retry", self.object_url(obj, "retry")))
        return buttons

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/retry/",
                self.post_only_object_view(self.retry_view),
                name=f"{opts.app_label}_{opts.model_name}_retry",
            ),
            *super().get_urls(),
        ]

    def retry_view(self, request: HttpRequest, obj: Any) -> HttpResponseBase:
        if not self.has_retry_permission(request):
            raise PermissionDenied
        try:
            notification_retry(notification=obj, actor=request.user)
        except RetryRefused as refused:
            self.message_user(request, refused.detail, messages.WARNING)
        else:
            self.message_user(request, f"Notification {obj.id} was re-queued for sending.", messages.SUCCESS)
        return self.redirect_to_object(obj)

    @admin.action(description="Retry selected failed notifications", permissions=["retry"])
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        selected = list(queryset[: RETRY_SELECTION_LIMIT + 1])
        if len(selected) > RETRY_SELECTION_LIMIT:
            self.message_user(
                request,
                f"Select at most {RETRY_SELECTION_LIMIT} notifications, or use the order's "
                '"Retry failed notifications".',
                messages.ERROR,
            )
            return
        summary = notifications_retry(notifications=selected, actor=request.user)
        for level, text in retry_message(summary):
            self.message_user(request, text, level)


@admin.register(EmailNotification)
class EmailNotificationAdmin(NotificationAdmin):
    address_field = "to_address"
    channel = Channel.EMAIL


@admin.register(SmsNotification)
class SmsNotificationAdmin(NotificationAdmin):
    address_field = "mobile_number"
    channel = Channel.SMS
    list_filter = (StatusFilter, "order__notification_channel", "sending_time_policy", "created_at")


# --- the order admin, with retry ---------------------------------------------------------------------------


class DispatchOrderAdmin(OrderAdmin):
    """The order admin plus "retry failed notifications" (the retry service belongs to the pipeline)."""

    actions = (*OrderAdmin.actions, "retry_failed_notifications")

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perms(["orders.retry_emailnotification", "orders.retry_smsnotification"])

    def object_buttons(self, request: HttpRequest, obj: Order) -> list[ObjectButton]:
        buttons = super().object_buttons(request, obj)
        if obj.status != OrderStatus.CANCELLED and self.has_retry_permission(request):
            failed = [
                Exists(
                    model.objects.filter(
                        order_id=OuterRef("pk"), status__in=sorted(retryable_statuses(model))
                    )
                )
                for model in (EmailNotification, SmsNotification)
            ]
            if Order.objects.filter(pk=obj.pk).filter(failed[0] | failed[1]).exists():
                buttons.append(ObjectButton("Retry failed notifications", self.object_url(obj, "retry")))
        return buttons

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/retry/",
                self.post_only_object_view(self.retry_view),
                name="orders_order_retry",
            ),
            *super().get_urls(),
        ]

    def _retry(self, request: HttpRequest, order: Order) -> None:
        try:
            summary = order_notifications_retry(order=order, actor=request.user)
        except RetryRefused as refused:
            self.message_user(request, refused.detail, messages.WARNING)
            return
        for level, text in retry_message(summary):
            self.message_user(request, f"Order {order.id}: {text}", level)

    def retry_view(self, request: HttpRequest, order: Order) -> HttpResponseBase:
        if not self.has_retry_permission(request):
            raise PermissionDenied
        self._retry(request, order)
        return self.redirect_to_object(order)

    @admin.action(description="Retry failed notifications of selected orders", permissions=["retry"])
    def retry_failed_notifications(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        for order in queryset[: self.list_max_show_all]:
            self._retry(request, order)


admin.site.unregister(Order)
admin.site.register(Order, DispatchOrderAdmin)


# --- attempts, reports, pauses, sandbox ---------------------------------------------------------------------


class ReadOnlyAdmin(OpsModelAdmin):
    change_form_template: ClassVar[str | None] = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def notification_link(channel: str, notification_id: Any) -> SafeString | str:
    if notification_id is None:
        return "-"
    model = "emailnotification" if channel == Channel.EMAIL else "smsnotification"
    url = reverse(f"admin:orders_{model}_change", args=[notification_id])
    return format_html('<a href="{}">{}</a>', url, notification_id)


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyAdmin):
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
    table = DeliveryReport._meta.db_table
    sql = f"""
        WITH RECURSIVE providers(provider) AS (
            (SELECT provider FROM {table} ORDER BY provider LIMIT 1)
            UNION ALL
            SELECT (
                SELECT r.provider FROM {table} r WHERE r.provider > p.provider ORDER BY r.provider LIMIT 1
            )
            FROM providers p WHERE p.provider IS NOT NULL
        )
        SELECT provider FROM providers WHERE provider IS NOT NULL LIMIT 100
    """  # noqa: S608 (the table name comes from model metadata)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [provider for (provider,) in cursor.fetchall()]


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
class DeliveryReportAdmin(ReadOnlyAdmin):
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
    change_form_template = "admin/ops_change_form.html"
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


@admin.register(ProviderPause)
class ProviderPauseAdmin(ReadOnlyAdmin):
    list_display = ("key", "paused_until", "reason", "updated_at")
    ordering = ("key",)


@admin.register(SandboxMessage)
class SandboxMessageAdmin(ReadOnlyAdmin):
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


# The callback and provider health admins register themselves on import.
from dispatch import admin_callbacks  # noqa: E402,F401
