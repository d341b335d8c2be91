"""Routes of the dry runs, relative to ``/notifications/api/v1/dry-run/``: each real order-creating path
with the same request body."""

from __future__ import annotations

from django.urls import URLPattern, path

from dispatch.api.dryrun import FutureDryRunViewSet, OrderDryRunViewSet

urlpatterns: list[URLPattern] = [
    path("orders", OrderDryRunViewSet.as_view({"post": "create"}), name="dry-run-order"),
    path("orders/email", OrderDryRunViewSet.as_view({"post": "create_email"}), name="dry-run-order-email"),
    path("orders/sms", OrderDryRunViewSet.as_view({"post": "create_sms"}), name="dry-run-order-sms"),
    path("future/orders", FutureDryRunViewSet.as_view({"post": "chain"}), name="dry-run-future-order"),
    path(
        "future/orders/instant/sms",
        FutureDryRunViewSet.as_view({"post": "instant_sms"}),
        name="dry-run-future-order-instant-sms",
    ),
    path(
        "future/orders/instant/email",
        FutureDryRunViewSet.as_view({"post": "instant_email"}),
        name="dry-run-future-order-instant-email",
    ),
]
