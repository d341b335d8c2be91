"""Processing that keeps failing is not retried forever: the order ends at its processing deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatch.services.expiry import email_expires_at, sms_expires_at
from dispatch.services.order_claims import order_claim
from dispatch.services.processing import (
    order_process,
    orders_process_due,
    processing_deadline,
)
from notifications_project.celery import app as celery_app
from orders.models import (
    EmailNotification,
    NotificationChannel,
    Order,
    OrderStatus,
    Recipient,
    SendingTimePolicy,
    SmsNotification,
    StatusFeedEntry,
)
from tests.factories import EmailTemplateFactory, OrderFactory, SmsTemplateFactory

pytestmark = pytest.mark.django_db

SEND_TIME = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch) -> None:
    monkeypatch.setattr(celery_app, "send_task", lambda *args, **kwargs: None)


@pytest.fixture
def registry_down(settings) -> None:
    """The HTTP registry on a loopback port where nothing listens: every lookup is an outage."""
    from notifications_project.launcher.servers import free_port

    settings.NOTIFICATIONS_REGISTRY_BACKEND = "http"
    settings.NOTIFICATIONS_REGISTRY_URL = f"http://127.0.0.1:{free_port()}/register/"
    settings.NOTIFICATIONS_REGISTRY_TIMEOUT_SECONDS = 0.5


def person_email_order() -> Order:
    order = OrderFactory(
        requested_send_time=SEND_TIME,
        notification_channel=NotificationChannel.EMAIL,
        sending_time_policy=SendingTimePolicy.ANYTIME,
        sms_template=None,
        email_template=EmailTemplateFactory(),
    )
    Recipient.objects.create(order=order, position=0, national_identity_number="01010112345")
    return order


def run_sweeps_until_final(time_machine, order: Order, *, max_sweeps: int = 500) -> int:
    """Run the due-order sweep at each retry time the order asks for; returns the sweeps it took."""
    for sweep in range(1, max_sweeps + 1):
        orders_process_due()
        order.refresh_from_db()
        if order.status != OrderStatus.PROCESSING:
            return sweep
        assert order.next_attempt_at is not None
        time_machine.move_to(order.next_attempt_at, tick=False)
    raise AssertionError(f"order still {order.status} after {max_sweeps} sweeps: {order.processing_note}")


def test_an_order_whose_registry_stays_down_ends_completed_at_its_deadline_with_the_reason(
    time_machine, registry_down, settings
):
    time_machine.move_to(SEND_TIME, tick=False)
    order = person_email_order()
    deadline = SEND_TIME + timedelta(hours=48)

    sweeps = run_sweeps_until_final(time_machine, order)

    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert order.status_changed_at == deadline  # not a retry later, not a minute earlier
    assert "gave up" in order.processing_note
    assert "contact registry" in order.processing_note  # the last failure is kept
    assert not EmailNotification.objects.filter(order=order).exists()
    assert StatusFeedEntry.objects.filter(order=order, order_status=OrderStatus.COMPLETED).exists()
    # Backoff doubles from 30 s to the 15 min cap: about 48 h / 15 min retries, not one per sweep.
    cap = settings.NOTIFICATIONS_REGISTRY_RETRY_MAX_DELAY
    assert sweeps <= timedelta(hours=48) / cap + 10


def test_an_order_that_fails_with_an_unexpected_error_ends_at_its_deadline(time_machine, settings):
    # A configuration error, not an outage: the registry backend cannot even be built.
    settings.NOTIFICATIONS_REGISTRY_BACKEND = "http"
    settings.NOTIFICATIONS_REGISTRY_URL = ""
    settings.NOTIFICATIONS_REGISTRY_RETRY_MAX_DELAY = timedelta(hours=4)
    time_machine.move_to(SEND_TIME, tick=False)
    order = OrderFactory(requested_send_time=SEND_TIME, sending_time_policy=SendingTimePolicy.ANYTIME)
    Recipient.objects.create(order=order, position=0, mobile_number="+4799999999")

    with pytest.raises(Exception, match="REGISTRY_URL"):
        order_process(order_id=order.id)
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    assert "Processing failed" in order.processing_note

    run_sweeps_until_final(time_machine, order)

    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert order.status_changed_at == sms_expires_at(SEND_TIME, SendingTimePolicy.ANYTIME)
    assert "gave up" in order.processing_note
    assert "REGISTRY_URL" in order.processing_note
    assert not SmsNotification.objects.filter(order=order).exists()


def test_an_order_whose_workers_keep_dying_is_given_up_when_its_lease_lapses_after_the_deadline(
    time_machine, settings
):
    time_machine.move_to(SEND_TIME, tick=False)
    order = OrderFactory(requested_send_time=SEND_TIME, sending_time_policy=SendingTimePolicy.ANYTIME)
    Recipient.objects.create(order=order, position=0, mobile_number="+4799999999")
    assert order_claim(order_id=order.id) is not None  # a worker claims it and is killed

    time_machine.move_to(SEND_TIME + timedelta(hours=48, minutes=10), tick=False)
    assert orders_process_due() == 1

    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert order.processing_attempts == 2
    assert "gave up after 1 attempt(s)" in order.processing_note
    assert not SmsNotification.objects.filter(order=order).exists()


def test_a_retry_is_never_scheduled_after_the_deadline(time_machine, registry_down):
    order = person_email_order()
    deadline = SEND_TIME + timedelta(hours=48)
    time_machine.move_to(deadline - timedelta(seconds=10), tick=False)

    order_process(order_id=order.id)

    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    assert order.next_attempt_at == deadline


def test_a_first_claim_after_the_deadline_still_generates_the_notifications(time_machine):
    # Nothing failed before: the order was scheduled and the workers were down. Its notifications are
    # generated (already expired) so each one reads Failed_TTL after the expiry sweep, as in the reference.
    time_machine.move_to(SEND_TIME + timedelta(hours=50), tick=False)
    order = OrderFactory(requested_send_time=SEND_TIME, sending_time_policy=SendingTimePolicy.ANYTIME)
    Recipient.objects.create(order=order, position=0, mobile_number="+4799999999")

    order_process(order_id=order.id)

    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSED
    assert SmsNotification.objects.filter(order=order).count() == 1


@pytest.mark.parametrize(
    ("channel", "policy", "expected"),
    [
        (NotificationChannel.EMAIL, SendingTimePolicy.ANYTIME, "email"),
        (NotificationChannel.SMS, SendingTimePolicy.ANYTIME, "sms"),
        (NotificationChannel.SMS, SendingTimePolicy.DAYTIME, "sms"),
        (NotificationChannel.EMAIL_PREFERRED, SendingTimePolicy.DAYTIME, "latest"),
        (NotificationChannel.EMAIL_AND_SMS, SendingTimePolicy.DAYTIME, "latest"),
    ],
)
def test_the_deadline_is_the_latest_expiry_a_notification_of_the_order_could_have(
    settings, channel, policy, expected
):
    settings.NOTIFICATIONS_SMS_SEND_WINDOW = "09:00-17:00"
    send_time = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)  # after the window: Daytime SMS get 72 h
    order = OrderFactory.build(
        requested_send_time=send_time,
        notification_channel=channel,
        sending_time_policy=policy,
        sms_template=SmsTemplateFactory.build(),
    )
    email, sms = email_expires_at(send_time), sms_expires_at(send_time, policy)
    assert processing_deadline(order) == {"email": email, "sms": sms, "latest": max(email, sms)}[expected]
