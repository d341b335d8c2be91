"""django-axes' login attempts in the admin, with a clean-up action that works (registered on import)."""

from __future__ import annotations

from typing import Any

import axes.admin  # registers AccessAttemptAdmin; imported first so it can be replaced below
from axes.models import AccessAttempt
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest


class AccessAttemptAdmin(axes.admin.AccessAttemptAdmin):  # type: ignore[misc]
    """django-axes' page, with a "clean up expired attempts" action that works outside a login.

    axes' own action computes the cool-off threshold from ``request.axes_attempt_time``, which only its
    login handler sets, so on an admin page it answered 500. Here the threshold is taken from now.
    """

    actions = ["cleanup_expired_attempts"]

    @admin.action(description="Clean up expired attempts")
    def cleanup_expired_attempts(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        request.axes_attempt_time = None  # type: ignore[attr-defined]  # "no login in progress": now
        count = self.handler.clean_expired_user_attempts(request=request)
        self.message_user(request, f"Cleaned up {count} expired access attempts.")


admin.site.unregister(AccessAttempt)
admin.site.register(AccessAttempt, AccessAttemptAdmin)
