"""Helpers shared by the sending, provider, report and webhook tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from dispatch.providers import reset_providers
from orders.models import OrderStatus
from tests.factories import EmailNotificationFactory, OrderFactory, SmsNotificationFactory


@pytest.fixture
def fresh_providers(settings) -> Iterator[None]:
    """Every test builds its providers from its own settings, and closes them afterwards."""
    settings.NOTIFICATIONS_SMS_SEND_WINDOW = "anytime"
    reset_providers()
    yield
    reset_providers()


def use_smtp_server(settings, port: int, *, timeout: float = 5) -> None:
    """Send email over SMTP to a local test server on ``port`` (no TLS, no login)."""
    settings.NOTIFICATIONS_EMAIL_PROVIDER = "smtp"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = timeout


def use_smsc(settings, port: int) -> None:
    """Send SMS over SMPP to a local fake SMSC on ``port`` (system id "notify", password "secret")."""
    settings.NOTIFICATIONS_SMS_PROVIDER = "smpp"
    settings.NOTIFICATIONS_SMPP_HOST = "127.0.0.1"
    settings.NOTIFICATIONS_SMPP_PORT = port
    settings.NOTIFICATIONS_SMPP_SYSTEM_ID = "notify"
    settings.NOTIFICATIONS_SMPP_PASSWORD = "secret"
    settings.NOTIFICATIONS_SMPP_BIND = "transmitter"
    settings.NOTIFICATIONS_SMPP_TIMEOUT_SECONDS = 2


def email_notification(**kwargs):
    kwargs.setdefault("order", OrderFactory(email=True, status=OrderStatus.PROCESSED))
    return EmailNotificationFactory(**kwargs)


def sms_notification(**kwargs):
    kwargs.setdefault("order", OrderFactory(status=OrderStatus.PROCESSED))
    return SmsNotificationFactory(**kwargs)


def later(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def now():
    return timezone.now()
