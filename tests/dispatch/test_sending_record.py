"""Recording send outcomes in bulk: acceptances in one statement per claim, and the recycled-id fallback."""

from __future__ import annotations

from typing import Any

import pytest

from dispatch.models import AttemptOutcome, DeliveryAttempt
from dispatch.providers import reset_providers
from dispatch.services.sending import notifications_send
from fakes.smpp import SmppFake
from orders.models import OrderStatus, SmsNotification
from tests.dispatch.sending_support import fresh_providers, sms_notification
from tests.factories import OrderFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_providers")]
__all__ = ["fresh_providers"]


def _smsc(settings: Any) -> SmppFake:
    fake = SmppFake(system_id="notify", password="secret", auto_receipt=None).start()
    settings.NOTIFICATIONS_SMS_PROVIDER = "smpp"
    settings.NOTIFICATIONS_SMPP_HOST = "127.0.0.1"
    settings.NOTIFICATIONS_SMPP_PORT = fake.port
    settings.NOTIFICATIONS_SMPP_SYSTEM_ID = "notify"
    settings.NOTIFICATIONS_SMPP_PASSWORD = "secret"
    settings.NOTIFICATIONS_SMPP_TIMEOUT_SECONDS = 2
    return fake


def test_every_acceptance_of_a_batch_is_recorded_with_its_own_reference(settings):
    smsc = _smsc(settings)
    try:
        order = OrderFactory(status=OrderStatus.PROCESSED)
        notifications = [sms_notification(order=order, mobile_number=f"+479900{n:04d}") for n in range(120)]

        summary = notifications_send(channel="Sms")
    finally:
        smsc.stop()

    assert summary.accepted == 120
    by_number = {submit.destination_addr: submit.message_id for submit in smsc.submits}
    rows = SmsNotification.objects.filter(id__in=[n.id for n in notifications])
    assert {row.status for row in rows} == {"Accepted"}
    assert {row.provider for row in rows} == {"smpp"}
    assert all(row.claimed_at is None and row.attempts == 1 for row in rows)
    assert {row.provider_reference for row in rows} == set(by_number.values())
    assert all(by_number[row.mobile_number.lstrip("+")] == row.provider_reference for row in rows)
    assert DeliveryAttempt.objects.filter(outcome=AttemptOutcome.ACCEPTED).count() == 120
    # Each attempt row (written by COPY) carries its notification's own values.
    by_id = {row.id: row for row in rows}
    for attempt in DeliveryAttempt.objects.all():
        row = by_id[attempt.notification_id]
        assert (attempt.channel, attempt.order_id, attempt.attempt, attempt.provider) == (
            "Sms",
            order.id,
            1,
            "smpp",
        )
        assert (attempt.status, attempt.provider_reference, attempt.error) == (
            "Accepted",
            row.provider_reference,
            "",
        )
        assert attempt.raw_response == f"submit_sm_resp ok message_id={row.provider_reference}"
        assert attempt.started_at.tzinfo is not None
        assert attempt.duration_ms >= 0


def test_a_recycled_provider_id_is_recorded_without_the_reference_and_the_rest_of_the_chunk_is_kept(settings):
    # An SMSC that restarts numbers its messages from 1 again: the second run's first id is already taken.
    first = _smsc(settings)
    try:
        earlier = sms_notification(mobile_number="+4799000001")
        notifications_send(channel="Sms")
    finally:
        first.stop()
    reset_providers()
    second = _smsc(settings)
    try:
        order = OrderFactory(status=OrderStatus.PROCESSED)
        later = [sms_notification(order=order, mobile_number=f"+479901{n:04d}") for n in range(3)]

        summary = notifications_send(channel="Sms")
    finally:
        second.stop()

    assert summary.accepted == 3
    earlier.refresh_from_db()
    rows = {row.mobile_number: row for row in SmsNotification.objects.filter(id__in=[n.id for n in later])}
    assert {row.status for row in rows.values()} == {"Accepted"}
    # The colliding one (the SMSC's id 00000001 again) keeps its status without the reference.
    assert rows["+4799010000"].provider_reference is None
    assert earlier.provider_reference == "00000001"
    assert [rows[f"+479901{n:04d}"].provider_reference for n in (1, 2)] == ["00000002", "00000003"]
