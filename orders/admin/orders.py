"""The order admin: the list (exact searches, the creator filter), the page, and cancelling.

Cancelling calls ``order_cancel`` (the rule of ``PUT /orders/{id}/cancel``) and writes the audit log.

``OrderAdmin`` is not registered here: the registered order admin is ``dispatch.admin.orders``, which adds
"retry failed notifications" (the retry service is part of the pipeline, and orders never imports
dispatch). Registering it once, on the side that can import everything it needs, keeps each model
registered in exactly one place; an extension point here for dispatch to fill would be a second mechanism
for what subclassing already does.

Pages show what is stored; national identity numbers are masked for users without
``orders.view_full_nin`` by the admin site, over the whole response (``core.masking``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponseBase
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe

from core.admin.base import ObjectButton, ReadOnlyModelAdmin
from core.admin.filters import CreatorFilter
from core.admin.html import html_table, pre
from core.problems import ApplicationError
from orders.admin.audit import audit_history
from orders.admin.search import search_term_parse
from orders.audit import AuditAction, AuditOutcome, audit_record
from orders.models import (
    EmailNotification,
    Order,
    OrderStatus,
    Recipient,
    SmsNotification,
)

RECIPIENTS_SHOWN = 100


class OrderAdmin(ReadOnlyModelAdmin):
    """The order list and page, and cancelling; registered by ``dispatch.admin.orders`` (see above).

    Orders arrive over the API and change only through services: the page is read-only for all.
    """

    list_display = (
        "id",
        "creator",
        "senders_reference",
        "notification_channel",
        "status_name",
        "requested_send_time",
        "created_at",
    )
    list_filter = ("status", "notification_channel", CreatorFilter, "sending_time_policy", "created_at")
    search_fields = ("id",)  # replaced by get_search_results; non-empty so the search box is shown
    search_help_text = (
        "Exact match: order id, sender's reference, creator, or a recipient's NIN or organization number."
    )
    ordering = ("-created_at",)
    actions: Sequence[Any] = ("cancel_orders",)
    fieldsets = (
        (
            "Order",
            {
                "fields": (
                    "id",
                    "creator",
                    "senders_reference",
                    "status_name",
                    "status_changed_at",
                    "notification_channel",
                    "sending_time_policy",
                    "requested_send_time",
                    "ignore_reservation",
                    "resource_id",
                    "resource_action",
                    "condition_endpoint",
                    "status_callback_url",
                    "created_at",
                    "updated_at",
                )
            },
        ),
        ("Processing", {"fields": ("processing_attempts", "next_attempt_at", "processing_note")}),
        ("Texts", {"fields": ("email_template_text", "sms_template_text")}),
        ("Notifications", {"fields": ("notification_counts",)}),
        ("Recipients", {"fields": ("recipients_table", "lookup_result")}),
        ("Staff operations", {"fields": ("audit_entries",)}),
    )

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("orders.cancel_order")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Order], search_term: str
    ) -> tuple[QuerySet[Order], bool]:
        term = search_term_parse(search_term)
        if not term.text:
            return queryset, False
        condition = Q(senders_reference=term.text) | Q(creator=term.text)
        if term.uuid is not None:
            condition |= Q(id=term.uuid)
        if term.nin:
            condition |= Q(
                id__in=Recipient.objects.filter(national_identity_number=term.nin).values("order_id")
            )
        if term.organization_number:
            condition |= Q(
                id__in=Recipient.objects.filter(organization_number=term.organization_number).values(
                    "order_id"
                )
            )
        return queryset.filter(condition), False

    # --- detail page ---

    @admin.display(description="Email template")
    def email_template_text(self, order: Order) -> SafeString | str:
        template = order.email_template
        if template is None:
            return "-"
        return format_html(
            "<p>From: {}<br>Subject: {}<br>Content type: {}</p>{}",
            template.from_address,
            template.subject,
            template.content_type,
            pre(template.body),
        )

    @admin.display(description="SMS template")
    def sms_template_text(self, order: Order) -> SafeString | str:
        template = order.sms_template
        if template is None:
            return "-"
        return format_html("<p>Sender: {}</p>{}", template.sender_number, pre(template.body))

    @admin.display(description="Notifications per status")
    def notification_counts(self, order: Order) -> SafeString:
        rows: list[tuple[str, SafeString, int]] = []
        for model in (EmailNotification, SmsNotification):
            counts = (
                model.objects.filter(order_id=order.id)
                .values_list("status")
                .annotate(n=Count("*"))
                .order_by("status")
            )
            changelist = reverse(f"admin:orders_{model._meta.model_name}_changelist")
            for status, n in counts:
                query = urlencode({"q": str(order.id), "status": status})
                link = format_html('<a href="{}?{}">{}</a>', changelist, query, status)
                rows.append((str(model._meta.verbose_name).capitalize(), link, n))
        if not rows:
            return mark_safe("<p>No notifications yet.</p>")  # noqa: S308 (a constant)
        return html_table(["Channel", "Status", "Count"], rows)

    @admin.display(description="Recipients")
    def recipients_table(self, order: Order) -> SafeString:
        recipients = list(
            Recipient.objects.filter(order_id=order.id).order_by("position")[: RECIPIENTS_SHOWN + 1]
        )
        if not recipients:
            return mark_safe("<p>No recipients.</p>")  # noqa: S308 (a constant)
        table = html_table(
            ["#", "Email", "Mobile", "Organization", "NIN", "External identity", "Reserved"],
            (
                (
                    r.position,
                    r.email_address or "-",
                    r.mobile_number or "-",
                    r.organization_number or "-",
                    r.national_identity_number or "-",
                    r.external_identity or "-",
                    {True: "yes", False: "no", None: "-"}[r.is_reserved],
                )
                for r in recipients[:RECIPIENTS_SHOWN]
            ),
        )
        more = (
            format_html("<p>Only the first {} recipients are shown.</p>", RECIPIENTS_SHOWN)
            if len(recipients) > RECIPIENTS_SHOWN
            else ""
        )
        return format_html("{}{}", table, more)

    @admin.display(description="Recipient lookup (as in the receipt)")
    def lookup_result(self, order: Order) -> SafeString | str:
        if order.recipient_lookup is None:
            return "-"
        return pre(json.dumps(order.recipient_lookup, indent=2, ensure_ascii=False))

    @admin.display(description="Audit log")
    def audit_entries(self, order: Order) -> SafeString:
        return audit_history(str(order.id))

    def get_readonly_fields(self, request: HttpRequest, obj: Order | None = None) -> tuple[str, ...]:
        return tuple(flatten_fieldsets(self.fieldsets or ()))

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        return super().get_queryset(request).select_related("email_template", "sms_template")

    # --- cancel ---

    def object_buttons(self, request: HttpRequest, obj: Order) -> list[ObjectButton]:
        buttons = super().object_buttons(request, obj)
        if obj.status == OrderStatus.REGISTERED and self.has_cancel_permission(request):
            buttons.append(ObjectButton("Cancel order", self.object_url(obj, "cancel")))
        return buttons

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/cancel/",
                self.post_only_object_view(self.cancel_view),
                name=f"{opts.app_label}_{opts.model_name}_cancel",
            ),
            *super().get_urls(),
        ]

    def cancel_view(self, request: HttpRequest, order: Order) -> HttpResponseBase:
        if not self.has_cancel_permission(request):
            raise PermissionDenied
        level, text = order_cancel_by_staff(order=order, request=request)
        self.message_user(request, text, level)
        return self.redirect_to_object(order)

    @admin.action(description="Cancel selected registered orders", permissions=["cancel"])
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        cancelled, refused = 0, []
        for order in queryset[: self.list_max_show_all]:
            level, text = order_cancel_by_staff(order=order, request=request)
            if level == messages.SUCCESS:
                cancelled += 1
            else:
                refused.append(text)
        if cancelled:
            self.message_user(request, f"Cancelled {cancelled} order(s).", messages.SUCCESS)
        for text in refused:
            self.message_user(request, text, messages.WARNING)


def order_cancel_by_staff(*, order: Order, request: HttpRequest) -> tuple[int, str]:
    """Cancel through ``order_cancel`` (the API's rule) and audit the outcome; returns a message for staff."""
    from orders.services import order_cancel  # services import the models, which import this app

    if order.status == OrderStatus.CANCELLED:
        reason = "it is already cancelled"
    else:
        try:
            order_cancel(order_id=order.id, creator=order.creator)
        except ApplicationError as error:
            reason = error.detail
        else:
            audit_record(
                actor=request.user,
                action=AuditAction.ORDER_CANCEL,
                outcome=AuditOutcome.DONE,
                target=order,
                details={"from_status": order.status, "creator": order.creator},
            )
            return messages.SUCCESS, f"Order {order.id} was cancelled."
    audit_record(
        actor=request.user,
        action=AuditAction.ORDER_CANCEL,
        outcome=AuditOutcome.REFUSED,
        target=order,
        details={"status": order.status, "creator": order.creator, "reason": reason},
    )
    return messages.WARNING, f"Order {order.id} was not cancelled: {reason}"
