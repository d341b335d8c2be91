"""The admin site of the service: Django's admin with NIN masking over every response, and a slot on the
index page for an app's panel (dispatch's operations dashboard).

Installed in place of ``django.contrib.admin`` (``OpsAdminConfig`` in INSTALLED_APPS), so ``admin.site``
and ``@admin.register`` everywhere use this site. This module is imported while the apps load, before any
model is ready, and imports no app.

Every admin view goes through ``admin_view``, which masks national identity numbers in the whole response
for users without ``orders.view_full_nin`` (``core.masking``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper
from typing import Any, TypeVar, cast

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest, HttpResponseBase
from django.template.response import TemplateResponse

from core.masking import mask_response, may_see_nin, search_terms

_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])

IndexContext = Callable[[HttpRequest], dict[str, Any]]


class OpsAdminSite(admin.AdminSite):
    site_header = "Notification service operations"
    site_title = "Notification service"
    index_title = "Operations dashboard"

    # The index page's panel: its template and the context it needs for a request ({} to leave it out).
    # Set by the app that owns it (``index_panel``), so the kernel shows it without importing the app.
    index_context: IndexContext | None = None

    def index_panel(self, *, template: str, context: IndexContext) -> None:
        """Show ``template`` as the index page, with ``context(request)`` added to its context."""
        self.index_template = template
        self.index_context = context

    def admin_view(self, view: _View, cacheable: bool = False) -> _View:
        """Django's staff check, plus NIN masking of the whole response for users who may not see NINs.

        Every model admin page, action, history, delete confirmation and custom button view is wrapped
        here, so masking the response (rather than each field) also covers titles, breadcrumbs, inlines,
        messages, raw payloads and whatever is added later.
        """
        checked = super().admin_view(view, cacheable)

        def masked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            response = checked(request, *args, **kwargs)
            if may_see_nin(request):
                return response
            return mask_response(response, keep=search_terms(request))

        return cast(_View, update_wrapper(masked, checked))

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        """The app list, plus the panel's context when one is set."""
        panel = self.index_context(request) if self.index_context is not None else {}
        return super().index(request, extra_context={**panel, **(extra_context or {})})


class OpsAdminConfig(AdminConfig):
    default_site = "core.admin_site.OpsAdminSite"
