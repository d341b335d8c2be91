"""Status callbacks, delivery side: signed POSTs to a local receiver that verifies them and fails on
purpose, backoff, giving up, the outbound guard, secret rotation, and re-sending (audited)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from dispatch.callback_format import EVENT_ID_HEADER, SIGNATURE_HEADER
from dispatch.models import CallbackAttempt, CallbackDelivery, CallbackSecret, CallbackState
from dispatch.services.callback_outbox import (
    callback_delivery_resend,
    callbacks_purge,
    callbacks_record_notifications,
)
from dispatch.services.callback_posting import callbacks_claim, callbacks_deliver
from dispatch.services.callback_secrets import (
    callback_secret_deactivate,
    callback_secret_get_or_create,
    callback_secret_rotate,
    callback_signing_secrets,
)
from fakes.callback_receiver import CallbackReceiver
from notifications_project.celery import app as celery_app
from orders.audit import AuditAction, AuditEntry
from orders.models import OrderStatus, SmsStatus
from tests.dispatch.sending_support import sms_notification
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch) -> None:
    monkeypatch.setattr(celery_app, "send_task", lambda *args, **kwargs: None)


@pytest.fixture
def receiver(settings) -> Iterator[CallbackReceiver]:
    settings.NOTIFICATIONS_CALLBACK_TIMEOUT_SECONDS = 5
    fake = CallbackReceiver(secrets=[callback_secret_get_or_create(creator="ttd").secret]).start()
    yield fake
    fake.stop()


def event(url: str, *, creator: str = "ttd") -> CallbackDelivery:
    """One recorded notification.status event for ``url``."""
    order = OrderFactory(creator=creator, status=OrderStatus.PROCESSED, status_callback_url=url)
    notification = sms_notification(order=order, status=SmsStatus.DELIVERED)
    callbacks_record_notifications(channel="Sms", ids=[notification.id])
    return CallbackDelivery.objects.get(notification_id=notification.id)


def test_a_callback_is_posted_as_signed_json_and_marked_delivered(receiver):
    delivery = event(receiver.url)

    summary = callbacks_deliver()

    assert (summary.claimed, summary.delivered) == (1, 1)
    [request] = receiver.requests
    assert request["verified"] is True
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"][EVENT_ID_HEADER] == str(delivery.event_id)
    assert request["headers"][SIGNATURE_HEADER].startswith("t=")
    assert json.loads(request["body"]) == delivery.payload
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == (CallbackState.DELIVERED, 1, 200)
    [attempt] = CallbackAttempt.objects.filter(delivery=delivery)
    assert (attempt.attempt, attempt.status_code, attempt.error, attempt.response_body) == (1, 200, "", "ok")


def test_a_failing_receiver_is_retried_with_growing_delays_until_it_accepts(receiver, settings):
    settings.NOTIFICATIONS_CALLBACK_RETRY_BASE_SECONDS = 10
    receiver.fail_first = 3
    delivery = event(receiver.url)
    start = timezone.now()
    delays = []
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(4):
            callbacks_deliver()
            delivery.refresh_from_db()
            if delivery.state != CallbackState.PENDING:
                break
            delays.append((delivery.next_attempt_at - timezone.now()).total_seconds())
            # Not due before its time: a run now claims nothing.
            assert callbacks_deliver().claimed == 0
            clock.move_to(delivery.next_attempt_at)

    assert delivery.state == CallbackState.DELIVERED
    assert [request["answer"] for request in receiver.requests] == [500, 500, 500, 200]
    # Equal jitter: attempt n waits between half and all of 10 s x 2^(n-1).
    for n, delay in enumerate(delays, start=1):
        assert 10 * 2 ** (n - 1) / 2 <= delay <= 10 * 2 ** (n - 1)
    attempts = list(CallbackAttempt.objects.filter(delivery=delivery).order_by("attempt"))
    assert [(a.attempt, a.status_code) for a in attempts] == [(1, 500), (2, 500), (3, 500), (4, 200)]
    assert attempts[0].response_body == "failing on purpose"


def test_a_receiver_that_keeps_failing_is_given_up_after_the_maximum_age(receiver, settings):
    settings.NOTIFICATIONS_CALLBACK_MAX_AGE_SECONDS = 3600
    settings.NOTIFICATIONS_CALLBACK_RETRY_BASE_SECONDS = 600
    receiver.fail_first = 1000
    delivery = event(receiver.url)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(10):
            callbacks_deliver()
            delivery.refresh_from_db()
            if delivery.state != CallbackState.PENDING:
                break
            clock.move_to(delivery.next_attempt_at)

    assert delivery.state == CallbackState.FAILED
    assert delivery.last_error.startswith(f"gave up after {delivery.attempts} attempts: HTTP 500")
    assert 2 <= delivery.attempts <= 4
    assert CallbackAttempt.objects.filter(delivery=delivery).count() == delivery.attempts


def test_a_retry_after_from_the_receiver_is_honoured(receiver, settings):
    settings.NOTIFICATIONS_CALLBACK_RETRY_BASE_SECONDS = 1
    receiver.fail_first, receiver.fail_status, receiver.retry_after = 1, 429, 120
    delivery = event(receiver.url)
    with time_machine.travel(timezone.now(), tick=False):
        callbacks_deliver()
        delivery.refresh_from_db()
        assert (delivery.next_attempt_at - timezone.now()).total_seconds() == 120
    assert delivery.last_status_code == 429


def test_an_address_the_outbound_guard_refuses_fails_at_once_without_retries(receiver, settings):
    settings.NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS = []  # loopback is internal: refused
    delivery = event(receiver.url)

    callbacks_deliver()

    delivery.refresh_from_db()
    assert delivery.state == CallbackState.FAILED
    assert "not allowed" in delivery.last_error
    assert receiver.requests == []


def test_a_receiver_that_does_not_answer_is_an_error_and_retried(settings):
    settings.NOTIFICATIONS_CALLBACK_TIMEOUT_SECONDS = 2
    delivery = event("http://127.0.0.1:9/callbacks")  # the discard port: nothing listens

    callbacks_deliver()

    delivery.refresh_from_db()
    assert delivery.state == CallbackState.PENDING
    assert delivery.last_status_code is None
    assert delivery.last_error
    assert CallbackAttempt.objects.get(delivery=delivery).error == delivery.last_error


def test_a_batch_posts_to_several_receivers_and_signs_each_with_its_creators_secret(receiver, settings):
    other = CallbackReceiver(secrets=[callback_secret_get_or_create(creator="nav").secret]).start()
    try:
        mine = [event(receiver.url) for _ in range(3)]
        theirs = [event(other.url, creator="nav") for _ in range(2)]
        settings.NOTIFICATIONS_CALLBACK_BATCH_SIZE = 2  # three batches

        summary = callbacks_deliver()
    finally:
        other.stop()

    assert (summary.claimed, summary.delivered) == (5, 5)
    assert all(request["verified"] for request in receiver.requests + other.requests)
    assert {body["id"] for body in receiver.accepted} == {str(d.event_id) for d in mine}
    assert {body["id"] for body in other.accepted} == {str(d.event_id) for d in theirs}


def test_a_leased_callback_is_not_claimed_twice_until_its_lease_ends():
    event("https://client.example.no/cb")
    assert len(callbacks_claim(limit=10)) == 1
    assert callbacks_claim(limit=10) == []
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        [again] = callbacks_claim(limit=10)
    assert again.attempts == 2


# --- secrets ------------------------------------------------------------------------------------------


def test_after_a_rotation_both_secrets_sign_until_the_grace_period_ends(receiver, settings):
    settings.NOTIFICATIONS_CALLBACK_SECRET_GRACE_HOURS = 24
    old = callback_secret_get_or_create(creator="ttd")
    new = callback_secret_rotate(creator="ttd")
    assert callback_signing_secrets(creators=["ttd"])["ttd"] == [new.secret, old.secret]

    receiver.secrets = [old.secret]  # a receiver that has not switched yet
    event(receiver.url)
    callbacks_deliver()
    receiver.secrets = [new.secret]  # one that has
    event(receiver.url)
    callbacks_deliver()
    assert [request["verified"] for request in receiver.requests] == [True, True]
    assert receiver.requests[0]["headers"][SIGNATURE_HEADER].count("v1=") == 2

    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert callback_signing_secrets(creators=["ttd"])["ttd"] == [new.secret]
        receiver.secrets = [old.secret]
        event(receiver.url)
        callbacks_deliver()
    assert receiver.requests[-1]["verified"] is False
    assert receiver.requests[-1]["headers"][SIGNATURE_HEADER].count("v1=") == 1


def test_a_creator_without_a_secret_gets_one_on_first_delivery(receiver):
    assert not CallbackSecret.objects.filter(creator="brg").exists()
    signing = callback_signing_secrets(creators=["brg"])
    assert signing["brg"] == [CallbackSecret.objects.get(creator="brg").secret]
    assert callback_signing_secrets(creators=["brg"]) == signing


def test_a_deactivated_secret_stops_signing_at_once_and_is_audited():
    old = callback_secret_get_or_create(creator="ttd")
    new = callback_secret_rotate(creator="ttd")
    assert callback_secret_deactivate(secret=old) is True
    assert callback_signing_secrets(creators=["ttd"])["ttd"] == [new.secret]
    assert callback_secret_deactivate(secret=old) is False
    actions = list(
        AuditEntry.objects.filter(action=AuditAction.CALLBACK_SECRET_CHANGE).values_list("details", flat=True)
    )
    assert {"creator": "ttd", "deactivated": True} in actions
    assert any(details.get("rotated") for details in actions)


def test_the_command_prints_the_secret_and_rotates_it():
    out, err = StringIO(), StringIO()
    call_command("callback_secret", "--creator", "ttd", stdout=out, stderr=err)
    first = out.getvalue().strip()
    assert first == CallbackSecret.objects.get(creator="ttd").secret
    call_command("callback_secret", "--creator", "ttd", stdout=(again := StringIO()), stderr=StringIO())
    assert again.getvalue().strip() == first  # showing does not rotate

    out, err = StringIO(), StringIO()
    call_command("callback_secret", "--creator", "ttd", "--rotate", stdout=out, stderr=err)
    second = out.getvalue().strip()
    assert second != first
    assert second.startswith("ncs_")
    assert "previous secret also signs until" in err.getvalue()
    assert callback_signing_secrets(creators=["ttd"])["ttd"] == [second, first]


# --- re-send ------------------------------------------------------------------------------------------


def test_a_delivered_callback_can_be_sent_again_with_the_same_event_id_and_is_audited(receiver, admin_user):
    delivery = event(receiver.url)
    callbacks_deliver()

    delivery = callback_delivery_resend(delivery=delivery, actor=admin_user)
    assert (delivery.state, delivery.attempts) == (CallbackState.PENDING, 0)
    callbacks_deliver()

    assert [body["id"] for body in receiver.accepted] == [str(delivery.event_id)] * 2
    delivery.refresh_from_db()
    assert delivery.state == CallbackState.DELIVERED
    entry = AuditEntry.objects.get(action=AuditAction.CALLBACK_RESEND)
    assert (entry.actor_username, entry.target_id, entry.details["from_state"]) == (
        admin_user.username,
        str(delivery.pk),
        "delivered",
    )


def test_a_resend_of_a_given_up_callback_gets_a_fresh_retry_period(receiver, settings):
    settings.NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS = []
    delivery = event(receiver.url)
    callbacks_deliver()
    delivery.refresh_from_db()
    assert delivery.state == CallbackState.FAILED

    settings.NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    later = timezone.now() + timedelta(days=3)
    with time_machine.travel(later, tick=False):
        delivery = callback_delivery_resend(delivery=delivery, actor=None)
        assert delivery.give_up_at == later + timedelta(hours=24)
        callbacks_deliver()
    delivery.refresh_from_db()
    assert delivery.state == CallbackState.DELIVERED


def test_finished_callbacks_are_deleted_after_the_retention_period_and_pending_ones_kept(receiver, settings):
    settings.NOTIFICATIONS_CALLBACK_RETENTION_DAYS = 30
    delivered = event(receiver.url)
    callbacks_deliver()
    pending = event("https://client.example.no/cb")

    assert callbacks_purge(now=timezone.now() + timedelta(days=29)) == 0
    assert callbacks_purge(now=timezone.now() + timedelta(days=31)) == 1
    assert not CallbackDelivery.objects.filter(id=delivered.id).exists()
    assert not CallbackAttempt.objects.filter(delivery_id=delivered.id).exists()
    assert CallbackDelivery.objects.filter(id=pending.id).exists()
    settings.NOTIFICATIONS_CALLBACK_RETENTION_DAYS = 0
    assert callbacks_purge(now=timezone.now() + timedelta(days=3650)) == 0
