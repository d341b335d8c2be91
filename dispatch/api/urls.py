"""Routes of the instant orders, relative to ``/notifications/api/v1/future/`` (beside the future API's
own routes in ``orders.api.future.urls``)."""

from __future__ import annotations

from django.urls import URLPattern, path

from dispatch.api.instant import InstantOrderViewSet

urlpatterns: list[URLPattern] = [
    path(
        "orders/instant/sms",
        InstantOrderViewSet.as_view({"post": "instant_sms"}),
        name="future-order-instant-sms",
    ),
    path(
        "orders/instant/email",
        InstantOrderViewSet.as_view({"post": "instant_email"}),
        name="future-order-instant-email",
    ),
]
