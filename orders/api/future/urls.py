"""Routes of the future API, relative to ``/notifications/api/v1/future/``.

Literal paths come before the id routes (``shipment/feed`` is not an id). Ids are any path segment,
checked in the view, so a malformed id is a 400 problem rather than a bare HTML 404. The instant orders
(``orders/instant/sms|email``) are sent by the pipeline, which serves them itself (``dispatch.api.urls``).
"""

from __future__ import annotations

from django.urls import URLPattern, path

from orders.api.future.composed import ComposedEmailViewSet
from orders.api.future.support import SupportLookupViewSet
from orders.api.future.views import FutureOrderViewSet, ShipmentViewSet

chain_view = FutureOrderViewSet.as_view({"get": "chain"})

urlpatterns: list[URLPattern] = [
    path("orders", FutureOrderViewSet.as_view({"post": "create"}), name="future-order-list"),
    path("orders/chain/<str:id>", chain_view, name="future-order-chain"),
    path(
        "orders/composed-email",
        ComposedEmailViewSet.as_view({"post": "create"}),
        name="future-order-composed-email",
    ),
    path(
        "orders/chain/<str:id>/cancel",
        FutureOrderViewSet.as_view({"put": "cancel"}),
        name="future-order-chain-cancel",
    ),
    path(
        "orders/chain/<str:id>/reminders/<str:shipment_id>/cancel",
        FutureOrderViewSet.as_view({"put": "cancel_reminder"}),
        name="future-order-chain-reminder-cancel",
    ),
    path("shipment/feed", ShipmentViewSet.as_view({"get": "feed"}), name="future-shipment-feed"),
    path("shipment/<str:id>", ShipmentViewSet.as_view({"get": "retrieve"}), name="future-shipment-detail"),
    path(
        "dashboard/recipients/notifications/nin",
        SupportLookupViewSet.as_view({"get": "by_nin"}),
        name="future-dashboard-nin",
    ),
    path(
        "dashboard/recipients/notifications/orgnumber",
        SupportLookupViewSet.as_view({"get": "by_organization_number"}),
        name="future-dashboard-orgnumber",
    ),
]

# The reference's Location header names /orders/chain/{id} (without /future); it is served too, and
# left out of the OpenAPI document.
alias_urlpatterns: list[URLPattern] = [
    path(
        "orders/chain/<str:id>",
        FutureOrderViewSet.as_view({"get": "chain"}, schema=None),
        name="order-chain-alias",
    ),
]
