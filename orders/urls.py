from __future__ import annotations

from django.urls import URLPattern, URLResolver

from orders.api.urls import urlpatterns as api_urlpatterns

urlpatterns: list[URLPattern | URLResolver] = [*api_urlpatterns]
