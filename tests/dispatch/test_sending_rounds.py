"""A send run takes turns between the channels, so one channel's backlog does not hold the other back."""

from __future__ import annotations

import pytest

from dispatch.models import DeliveryAttempt
from dispatch.services.sending import notifications_send
from orders.models import OrderStatus
from tests.dispatch.sending_support import email_notification, fresh_providers, sms_notification
from tests.factories import OrderFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_providers")]
__all__ = ["fresh_providers"]


def test_batches_alternate_between_email_and_sms(settings):
    settings.NOTIFICATIONS_SEND_BATCH_SIZE = 2
    emails = OrderFactory(email=True, status=OrderStatus.PROCESSED)
    texts = OrderFactory(status=OrderStatus.PROCESSED)
    for _ in range(4):
        email_notification(order=emails)
        sms_notification(order=texts)

    summary = notifications_send()

    assert summary.accepted == 8
    channels = list(DeliveryAttempt.objects.order_by("id").values_list("channel", flat=True))
    assert channels == ["Email", "Email", "Sms", "Sms", "Email", "Email", "Sms", "Sms"]


def test_a_run_on_one_channel_sends_batch_after_batch_until_none_is_left(settings):
    settings.NOTIFICATIONS_SEND_BATCH_SIZE = 2
    texts = OrderFactory(status=OrderStatus.PROCESSED)
    for _ in range(6):
        sms_notification(order=texts)

    summary = notifications_send(channel="Sms")

    assert (summary.claimed, summary.accepted) == (6, 6)
