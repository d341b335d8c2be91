"""System checks of the orders app: the configured default senders pass the rules every order's do."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from orders import validation


def check_default_senders(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """A default sender no provider can write would fail every order without a sender of its own."""
    errors: list[checks.CheckMessage] = []
    if not validation.is_valid_sender_email(settings.NOTIFICATIONS_DEFAULT_EMAIL_FROM):
        errors.append(
            checks.Error(
                "NOTIFICATIONS_DEFAULT_EMAIL_FROM is not a valid sender: "
                + validation.MSG_INVALID_SENDER_EMAIL,
                id="orders.E001",
            )
        )
    if not validation.is_valid_sms_sender(settings.NOTIFICATIONS_DEFAULT_SMS_SENDER):
        errors.append(
            checks.Error(
                "NOTIFICATIONS_DEFAULT_SMS_SENDER is not a valid sender: "
                + validation.MSG_INVALID_SMS_SENDER,
                id="orders.E002",
            )
        )
    return errors
