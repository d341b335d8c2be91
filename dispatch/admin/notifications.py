"""The admin of email and SMS notifications: find, inspect (text as sent, attempts, reports), retry.

The notification admins live in dispatch rather than in ``orders.admin`` because their detail pages show
the pipeline's bookkeeping (attempts, reports) and their actions call the pipeline's retry service;
``orders`` never imports ``dispatch``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponseBase
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from core.admin.base import ObjectButton, ReadOnlyModelAdmin
from core.admin.html import folded, html_table, pre
from core.masking import mask_nin
from dispatch.models import Channel, DeliveryAttempt, DeliveryReport
from dispatch.services.retry import (
    RetryRefused,
    RetrySummary,
    notification_retry,
    notifications_retry,
    retryable_statuses,
)
from orders.admin.audit import audit_history
from orders.admin.search import search_term_parse
from orders.models import (
    EMAIL_FAILED_STATUSES,
    EMAIL_PENDING_STATUSES,
    SMS_FAILED_STATUSES,
    SMS_PENDING_STATUSES,
    EmailNotification,
    Order,
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


class NotificationAdmin(ReadOnlyModelAdmin):
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


def notification_link(channel: str, notification_id: Any) -> SafeString | str:
    if notification_id is None:
        return "-"
    model = "emailnotification" if channel == Channel.EMAIL else "smsnotification"
    url = reverse(f"admin:orders_{model}_change", args=[notification_id])
    return format_html('<a href="{}">{}</a>', url, notification_id)
