"""The retry service behind the admin's retry actions."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.utils import timezone

from dispatch.models import AttemptOutcome, Channel, DeliveryAttempt
from dispatch.services import retry as retry_module
from dispatch.services.reports import sandbox_reports_deliver
from dispatch.services.retry import (
    RetryRefused,
    notification_retry,
    notifications_retry,
    order_notifications_retry,
)
from dispatch.services.sending import notifications_send
from orders.audit import AuditAction, AuditEntry, AuditOutcome
from orders.models import EmailNotification, OrderStatus, SmsNotification
from tests.dispatch.sending_support import email_notification, fresh_providers, sms_notification
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db
__all__ = ["fresh_providers"]


@pytest.fixture
def staff() -> User:
    return User.objects.create_user(username="otto", password="x", is_staff=True)


@pytest.fixture
def enqueued(monkeypatch) -> list[tuple[str, dict]]:
    """Messages to the broker (the network edge), recorded instead of sent."""
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(
        retry_module.current_app,
        "send_task",
        lambda name, kwargs=None, **_: sent.append((name, kwargs or {})),
    )
    return sent


def failed_sms(**kwargs) -> SmsNotification:
    kwargs.setdefault("status", "Failed_TTL")
    kwargs.setdefault("expires_at", timezone.now() - timedelta(hours=1))
    kwargs.setdefault("attempts", 6)
    kwargs.setdefault("provider", "sandbox")
    kwargs.setdefault("provider_reference", f"sandbox-{uuid.uuid4().hex}")
    kwargs.setdefault("last_error", "gave up after 6 attempts")
    return sms_notification(**kwargs)


def test_retry_puts_a_failed_notification_back_to_new_with_a_fresh_expiry_and_budget(staff):
    notification = failed_sms(sending_time_policy="Anytime")
    before = timezone.now()

    retried = notification_retry(notification=notification, actor=staff)

    assert retried.status == "New"
    assert retried.expires_at >= before + timedelta(hours=48)
    assert (retried.attempts, retried.provider_reference, retried.last_error, retried.not_before) == (
        0,
        None,
        "",
        None,
    )


def test_retry_is_audited_with_who_and_the_status_it_left(staff):
    notification = failed_sms()
    notification_retry(notification=notification, actor=staff)
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.outcome) == (
        staff,
        AuditAction.NOTIFICATION_RETRY,
        AuditOutcome.DONE,
    )
    assert (entry.target_type, entry.target_id) == ("orders.smsnotification", str(notification.id))
    assert entry.details["from_status"] == "Failed_TTL"


def test_retry_asks_a_worker_to_send_after_commit(staff, enqueued, django_capture_on_commit_callbacks):
    notification = email_notification(status="Failed_Bounced")
    with django_capture_on_commit_callbacks(execute=True):
        notification_retry(notification=notification, actor=staff)
        assert enqueued == []
    assert enqueued == [("dispatch.notifications_send", {"channel": Channel.EMAIL})]


@pytest.mark.parametrize("status", ["New", "Sending", "Accepted", "Delivered"])
def test_retry_of_a_notification_that_has_not_failed_is_refused_and_audited(staff, status):
    notification = sms_notification(status=status)
    with pytest.raises(RetryRefused, match=f"it has not failed \\(status {status}\\)"):
        notification_retry(notification=notification, actor=staff)
    notification.refresh_from_db()
    assert notification.status == status
    entry = AuditEntry.objects.get()
    assert entry.outcome == AuditOutcome.REFUSED
    assert "has not failed" in entry.details["reason"]


@pytest.mark.parametrize(
    ("model", "status"),
    [
        ("sms", "Failed_RecipientReserved"),
        ("sms", "Failed_RecipientNotIdentified"),
        ("email", "Failed_RecipientReserved"),
        ("email", "Failed_InvalidEmailFormat"),
    ],
)
def test_retry_of_a_notification_that_failed_at_generation_is_refused(staff, model, status):
    notification = (sms_notification if model == "sms" else email_notification)(status=status)
    with pytest.raises(RetryRefused):
        notification_retry(notification=notification, actor=staff)
    notification.refresh_from_db()
    assert notification.status == status


def test_retry_of_a_notification_of_a_cancelled_order_is_refused(staff):
    notification = failed_sms(order=OrderFactory(status=OrderStatus.CANCELLED))
    with pytest.raises(RetryRefused, match="its order is cancelled"):
        notification_retry(notification=notification, actor=staff)
    notification.refresh_from_db()
    assert notification.status == "Failed_TTL"


def test_retry_is_refused_when_the_status_changed_since_it_was_read(staff):
    notification = failed_sms()
    SmsNotification.objects.filter(id=notification.id).update(status="Delivered")
    with pytest.raises(RetryRefused, match="changed meanwhile"):
        notification_retry(notification=notification, actor=staff)
    assert SmsNotification.objects.get(id=notification.id).status == "Delivered"


def test_retry_reopens_a_completed_order(staff):
    order = OrderFactory(status=OrderStatus.COMPLETED)
    notification_retry(notification=failed_sms(order=order), actor=staff)
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSED


@pytest.mark.usefixtures("fresh_providers")
def test_a_retried_notification_is_sent_again_and_delivered_and_keeps_its_old_attempts(
    staff, django_capture_on_commit_callbacks
):
    order = OrderFactory(status=OrderStatus.COMPLETED)
    notification = failed_sms(
        order=order,
        mobile_number="+4799315000",
        status="Failed_Undelivered",
        provider_reference="sandbox-old",
    )
    DeliveryAttempt.objects.create(
        channel=Channel.SMS,
        notification_id=notification.id,
        order_id=order.id,
        attempt=1,
        provider="sandbox",
        outcome=AttemptOutcome.ACCEPTED,
        status="Accepted",
        provider_reference="sandbox-old",
        started_at=timezone.now() - timedelta(hours=3),
    )

    notification_retry(notification=notification, actor=staff)
    summary = notifications_send(channel=Channel.SMS)
    with (
        time_machine.travel(timezone.now() + timedelta(seconds=10), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        sandbox_reports_deliver()

    assert summary.accepted == 1
    notification.refresh_from_db()
    assert notification.status == "Delivered"
    attempts = DeliveryAttempt.objects.filter(notification_id=notification.id).order_by("started_at")
    assert [a.provider_reference for a in attempts][0] == "sandbox-old"
    assert attempts.count() == 2
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED


def test_retrying_a_selection_counts_what_was_retried_and_why_the_rest_was_not(staff):
    retryable = [failed_sms(), failed_sms(status="Failed")]
    delivered = sms_notification(status="Delivered")
    reserved = sms_notification(status="Failed_RecipientReserved")

    summary = notifications_retry(notifications=[*retryable, delivered, reserved], actor=staff)

    assert summary.retried == 2
    assert summary.refused == {
        "it has not failed (status Delivered)": [str(delivered.id)],
        "the recipient is reserved against digital contact": [str(reserved.id)],
    }
    assert AuditEntry.objects.filter(outcome=AuditOutcome.DONE).count() == 2
    assert AuditEntry.objects.filter(outcome=AuditOutcome.REFUSED).count() == 2


def test_retrying_an_order_retries_only_its_retryable_failed_notifications(staff, monkeypatch):
    monkeypatch.setattr(retry_module, "ORDER_RETRY_CHUNK", 2)  # several chunks
    order = OrderFactory(status=OrderStatus.COMPLETED)
    failed = [failed_sms(order=order) for _ in range(5)]
    kept = [
        sms_notification(order=order, status="Delivered"),
        sms_notification(order=order, status="Failed_RecipientReserved"),
    ]
    other_order = failed_sms()
    email = email_notification(order=order, status="Failed_Bounced")

    summary = order_notifications_retry(order=order, actor=staff)

    assert summary.retried == 6
    assert {n.id for n in SmsNotification.objects.filter(status="New")} == {n.id for n in failed}
    assert EmailNotification.objects.get(id=email.id).status == "New"
    assert [SmsNotification.objects.get(id=n.id).status for n in kept] == [
        "Delivered",
        "Failed_RecipientReserved",
    ]
    assert SmsNotification.objects.get(id=other_order.id).status == "Failed_TTL"
    assert (
        AuditEntry.objects.filter(action=AuditAction.NOTIFICATION_RETRY, outcome=AuditOutcome.DONE).count()
        == 6
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSED
    assert all(
        n.expires_at > timezone.now() + timedelta(hours=47)
        for n in SmsNotification.objects.filter(status="New")
    )


def test_retrying_a_cancelled_order_is_refused_and_audited(staff):
    order = OrderFactory(status=OrderStatus.CANCELLED)
    with pytest.raises(RetryRefused):
        order_notifications_retry(order=order, actor=staff)
    assert AuditEntry.objects.get().outcome == AuditOutcome.REFUSED
