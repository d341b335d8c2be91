"""Routes of the stored-templates API, relative to ``/notifications/api/v1/``. Ids are matched as any path
segment and checked in the view, so a malformed id is a 400 problem rather than a bare HTML 404."""

from __future__ import annotations

from django.urls import URLPattern, path

from orders.api.templates.views import TemplateViewSet

urlpatterns: list[URLPattern] = [
    path(
        "templates",
        TemplateViewSet.as_view({"get": "list_templates", "post": "create"}),
        name="template-list",
    ),
    path(
        "templates/<str:id>",
        TemplateViewSet.as_view({"get": "retrieve", "put": "update", "delete": "destroy"}),
        name="template-detail",
    ),
    path(
        "templates/<str:id>/versions", TemplateViewSet.as_view({"get": "versions"}), name="template-versions"
    ),
    path(
        "templates/<str:id>/versions/<int:number>",
        TemplateViewSet.as_view({"get": "version"}),
        name="template-version",
    ),
    path("templates/<str:id>/preview", TemplateViewSet.as_view({"post": "preview"}), name="template-preview"),
]
