from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from orders.api.future.urls import alias_urlpatterns as future_alias_urlpatterns
from orders.api.templates.urls import urlpatterns as template_urlpatterns
from orders.api.urls import urlpatterns as api_urlpatterns

urlpatterns: list[URLPattern | URLResolver] = [
    path("future/", include("orders.api.future.urls")),
    # Before the v1 routes, so "orders/chain/<id>" is never read as an order id.
    *future_alias_urlpatterns,
    *api_urlpatterns,
    *template_urlpatterns,
]
