"""The order admin, registered here: ``orders.admin.orders.OrderAdmin`` plus "retry failed notifications".

Registered on the dispatch side because retrying calls the pipeline's retry service and dispatch is above
orders in the layers: here everything the page needs is importable, so the Order admin is registered once,
in one place, and orders never imports dispatch.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponseBase
from django.urls import URLPattern, path

from core.admin.base import ObjectButton
from dispatch.admin.notifications import retry_message
from dispatch.services.retry import RetryRefused, order_notifications_retry, retryable_statuses
from orders.admin.orders import OrderAdmin
from orders.models import EmailNotification, Order, OrderStatus, SmsNotification


@admin.register(Order)
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
