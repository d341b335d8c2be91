"""Provider webhooks, mounted under ``notifications/api/v1/webhooks/``."""

from __future__ import annotations

from django.urls import path

from dispatch import webhooks

urlpatterns = [
    path("twilio/status", webhooks.twilio_status, name="webhook-twilio"),
    path("anymail/<str:esp>/tracking/", webhooks.anymail_tracking, name="webhook-anymail"),
]
