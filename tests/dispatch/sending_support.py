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
