"""The admin of status callbacks: deliveries with their attempts, and the signing secrets.

Re-sending, rotating and deactivating call the services, which write the audit log; every page is
otherwise read-only.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponseBase
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from core.admin.base import ObjectButton, ReadOnlyModelAdmin
from core.admin.html import folded, html_table, pre
from dispatch.models import CallbackAttempt, CallbackDelivery, CallbackSecret
from dispatch.services.callback_outbox import callback_delivery_resend
from dispatch.services.callback_secrets import (
    callback_secret_deactivate,
    callback_secret_rotate,
    callback_signing_secrets,
)
from orders.admin.audit import audit_history
from orders.admin.search import search_term_parse

ATTEMPTS_SHOWN = 100
RESEND_SELECTION_LIMIT = 500


def _notification_link(delivery: CallbackDelivery) -> SafeString | str:
    if delivery.notification_id is None:
        return "-"
    model = "emailnotification" if delivery.channel == "Email" else "smsnotification"
    url = reverse(f"admin:orders_{model}_change", args=[delivery.notification_id])
    return format_html('<a href="{}">{}</a>', url, str(delivery.notification_id)[:8])


@admin.register(CallbackDelivery)
class CallbackDeliveryAdmin(ReadOnlyModelAdmin):
    list_display = (
        "created_at",
        "event_type",
        "status",
        "creator",
        "state",
        "attempts",
        "last_status_code",
        "short_error",
        "order_link",
        "notification_link",
    )
    list_filter = ("state", "event_type", "creator", "created_at")
    search_fields = ("order_id",)  # replaced by get_search_results
    search_help_text = "Exact order id, notification id or event id."
    ordering = ("-created_at",)
    actions = ("resend_selected",)
    fields = (
        "event_id",
        "event_type",
        "creator",
        "order_link",
        "notification_link",
        "channel",
        "status",
        "url",
        "state",
        "attempts",
        "created_at",
        "next_attempt_at",
        "give_up_at",
        "delivered_at",
        "last_status_code",
        "last_error",
        "payload_pretty",
        "attempts_table",
        "audit_entries",
    )
    readonly_fields = fields

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("dispatch.resend_callbackdelivery")

    def get_queryset(self, request: HttpRequest) -> QuerySet[CallbackDelivery]:
        return super().get_queryset(request).defer("payload")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[CallbackDelivery], search_term: str
    ) -> tuple[QuerySet[CallbackDelivery], bool]:
        term = search_term_parse(search_term)
        if not term.text:
            return queryset, False
        if term.uuid is None:
            return queryset.none(), False
        # Each is an equality on an indexed column (event_id is unique).
        condition = Q(order_id=term.uuid) | Q(notification_id=term.uuid) | Q(event_id=term.uuid)
        return queryset.filter(condition), False

    @admin.display(description="Last error")
    def short_error(self, delivery: CallbackDelivery) -> str:
        error = delivery.last_error
        return error if len(error) <= 60 else error[:57] + "..."

    @admin.display(description="Order")
    def order_link(self, delivery: CallbackDelivery) -> SafeString:
        url = reverse("admin:orders_order_change", args=[delivery.order_id])
        return format_html('<a href="{}">{}</a>', url, str(delivery.order_id)[:8])

    @admin.display(description="Notification")
    def notification_link(self, delivery: CallbackDelivery) -> SafeString | str:
        return _notification_link(delivery)

    @admin.display(description="Body as sent")
    def payload_pretty(self, delivery: CallbackDelivery) -> SafeString:
        return pre(json.dumps(delivery.payload, indent=2, ensure_ascii=False))

    @admin.display(description="Attempts")
    def attempts_table(self, delivery: CallbackDelivery) -> SafeString:
        attempts = list(
            CallbackAttempt.objects.filter(delivery=delivery).order_by("started_at")[:ATTEMPTS_SHOWN]
        )
        if not attempts:
            return mark_safe("<p>No attempts yet.</p>")  # noqa: S308 (a constant)
        return html_table(
            ["Started (UTC)", "#", "HTTP status", "ms", "Error", "Receiver's answer"],
            (
                (
                    f"{a.started_at:%Y-%m-%d %H:%M:%S}",
                    a.attempt,
                    a.status_code or "-",
                    a.duration_ms,
                    a.error or "-",
                    folded(pre(a.response_body or "(empty)")),
                )
                for a in attempts
            ),
        )

    @admin.display(description="Audit log")
    def audit_entries(self, delivery: CallbackDelivery) -> SafeString:
        return audit_history(str(delivery.pk))

    def object_buttons(self, request: HttpRequest, obj: Any) -> list[ObjectButton]:
        buttons = super().object_buttons(request, obj)
        if self.has_resend_permission(request):
            buttons.append(ObjectButton("Re-send", self.object_url(obj, "resend")))
        return buttons

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/resend/",
                self.post_only_object_view(self.resend_view),
                name="dispatch_callbackdelivery_resend",
            ),
            *super().get_urls(),
        ]

    def resend_view(self, request: HttpRequest, delivery: CallbackDelivery) -> HttpResponseBase:
        if not self.has_resend_permission(request):
            raise PermissionDenied
        callback_delivery_resend(delivery=delivery, actor=request.user)
        self.message_user(request, "The callback is queued to be sent again.", messages.SUCCESS)
        return self.redirect_to_object(delivery)

    @admin.action(description="Re-send selected callbacks", permissions=["resend"])
    def resend_selected(self, request: HttpRequest, queryset: QuerySet[CallbackDelivery]) -> None:
        count = 0
        for delivery in queryset[:RESEND_SELECTION_LIMIT]:
            callback_delivery_resend(delivery=delivery, actor=request.user)
            count += 1
        self.message_user(request, f"Queued {count} callback(s) to be sent again.", messages.SUCCESS)


@admin.register(CallbackSecret)
class CallbackSecretAdmin(ReadOnlyModelAdmin):
    """Secrets are made by rotation (the action, or ``manage.py callback_secret --rotate``), never typed."""

    list_display = ("creator", "created_at", "active", "use", "masked")
    list_filter = ("active",)
    search_fields = ("creator",)
    search_help_text = "Exact creator (organisation code)."
    ordering = ("creator", "-created_at")
    sortable_by = ("creator", "created_at")
    actions = ("rotate_selected", "deactivate_selected")

    def has_rotate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("dispatch.rotate_callbacksecret")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[CallbackSecret], search_term: str
    ) -> tuple[QuerySet[CallbackSecret], bool]:
        term = search_term.strip()
        return (queryset.filter(creator=term), False) if term else (queryset, False)

    @admin.display(description="Secret")
    def masked(self, secret: CallbackSecret) -> str:
        return secret.secret[:4] + "…" + secret.secret[-4:]

    @admin.display(description="Secret")
    def secret_full(self, secret: CallbackSecret) -> str:
        return secret.secret

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # Whoever may rotate may hand the secret to the creator; everybody else sees it masked.
        shown = "secret_full" if self.has_rotate_permission(request) else "masked"
        return ("creator", "created_at", "active", "use", shown, "audit_entries")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return self.get_fields(request, obj)

    @admin.display(description="Use")
    def use(self, secret: CallbackSecret) -> str:
        if not secret.active:
            return "inactive"
        signing = callback_signing_secrets(creators=[secret.creator], now=timezone.now())[secret.creator]
        if signing[0] == secret.secret:
            return "signs"
        return "co-signs (grace period)" if secret.secret in signing[1:] else "unused"

    @admin.display(description="Audit log")
    def audit_entries(self, secret: CallbackSecret) -> SafeString:
        return audit_history(str(secret.pk))

    @admin.action(description="Rotate the secret of the selected secrets' creators", permissions=["rotate"])
    def rotate_selected(self, request: HttpRequest, queryset: QuerySet[CallbackSecret]) -> None:
        creators = sorted(set(queryset.values_list("creator", flat=True)))
        for creator in creators:
            callback_secret_rotate(creator=creator, actor=request.user)
        self.message_user(
            request,
            f"New secrets for {', '.join(creators)}; the previous ones co-sign during the grace period.",
            messages.SUCCESS,
        )

    @admin.action(
        description="Deactivate selected secrets (stop signing with them now)", permissions=["rotate"]
    )
    def deactivate_selected(self, request: HttpRequest, queryset: QuerySet[CallbackSecret]) -> None:
        count = sum(callback_secret_deactivate(secret=secret, actor=request.user) for secret in queryset)
        self.message_user(request, f"Deactivated {count} secret(s).", messages.SUCCESS)
