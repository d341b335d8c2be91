from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from core.health import health, live
from core.views import WhoAmIView
from dispatch.prometheus import metrics_view

API_PREFIX = "notifications/api/v1/"

urlpatterns = [
    path("health", health, name="health"),
    path("health/live", live, name="health-live"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path(f"{API_PREFIX}whoami", WhoAmIView.as_view(), name="whoami"),
    path(
        f"{API_PREFIX}openapi.json",
        SpectacularJSONAPIView.as_view(permission_classes=[AllowAny], authentication_classes=[]),
        name="openapi-schema",
    ),
    path(
        f"{API_PREFIX}docs",
        SpectacularSwaggerView.as_view(
            url_name="openapi-schema", permission_classes=[AllowAny], authentication_classes=[]
        ),
        name="swagger-ui",
    ),
    path(f"{API_PREFIX}webhooks/", include("dispatch.urls")),
    # The future API's instant orders: the pipeline sends them while the client waits.
    path(f"{API_PREFIX}future/", include("dispatch.api.urls")),
    # Dry runs of every order-creating request: resolved and rendered by the pipeline, nothing stored.
    path(f"{API_PREFIX}dry-run/", include("dispatch.api.dryrun_urls")),
    path(API_PREFIX, include("orders.urls")),
]

# Problem details, never Django's HTML or technical error pages (settings.py keeps Django's DEBUG off).
handler400 = "core.problems.bad_request"
handler403 = "core.problems.permission_denied"
handler404 = "core.problems.not_found"
handler500 = "core.problems.server_error"
