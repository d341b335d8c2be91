"""Routes of the v1 orders API, relative to ``/notifications/api/v1/``.

Literal paths come before ``orders/<id>`` so ``orders/sms`` is never read as an id. Ids are matched as any
path segment and checked in the view, so a malformed id is a 400 problem rather than a bare HTML 404.
The singular ``order/<id>...`` paths, named in the reference's documentation, are aliases of the same
views and are left out of the OpenAPI document (they would only duplicate its operations).
"""

from __future__ import annotations

from django.urls import URLPattern, path

from orders.api.views import OrderNotificationViewSet, OrderViewSet


def _id_routes(prefix: str, *, in_schema: bool) -> list[URLPattern]:
    extra = {} if in_schema else {"schema": None}
    name = "order" if in_schema else "order-alias"
    return [
        path(f"{prefix}/<str:id>", OrderViewSet.as_view({"get": "retrieve"}, **extra), name=f"{name}-detail"),
        path(
            f"{prefix}/<str:id>/status",
            OrderViewSet.as_view({"get": "order_status"}, **extra),
            name=f"{name}-status",
        ),
        path(
            f"{prefix}/<str:id>/cancel",
            OrderViewSet.as_view({"put": "cancel"}, **extra),
            name=f"{name}-cancel",
        ),
        path(
            f"{prefix}/<str:id>/notifications/email",
            OrderNotificationViewSet.as_view({"get": "email"}, **extra),
            name=f"{name}-notifications-email",
        ),
        path(
            f"{prefix}/<str:id>/notifications/sms",
            OrderNotificationViewSet.as_view({"get": "sms"}, **extra),
            name=f"{name}-notifications-sms",
        ),
    ]


urlpatterns: list[URLPattern] = [
    path(
        "orders",
        OrderViewSet.as_view({"get": "list_by_senders_reference", "post": "create"}),
        name="order-list",
    ),
    path("orders/email", OrderViewSet.as_view({"post": "create_email"}), name="order-create-email"),
    path("orders/sms", OrderViewSet.as_view({"post": "create_sms"}), name="order-create-sms"),
    *_id_routes("orders", in_schema=True),
    *_id_routes("order", in_schema=False),
]
