"""The service's URLs plus a view that raises, to see what a client gets for an unexpected error."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from notifications_project import urls as service_urls

# Django looks the error handlers up in the root URLconf.
handler400 = service_urls.handler400
handler403 = service_urls.handler403
handler404 = service_urls.handler404
handler500 = service_urls.handler500


def fails(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("secret detail of a failure")


urlpatterns = [path("test-only/fails", fails), *service_urls.urlpatterns]
