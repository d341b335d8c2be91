"""Status callbacks, recording side: every way a status becomes final writes its outbox row, once, in the
same transaction; and the signature a receiver verifies."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from dispatch.callback_format import body_bytes, signature, signature_header, signature_verify
from dispatch.models import CallbackDelivery, CallbackEvent, CallbackState
from dispatch.providers.base import IncomingReport, ReportStatus
from dispatch.services.callback_outbox import callbacks_record_notifications, callbacks_record_orders
from dispatch.services.completion import orders_complete
from dispatch.services.expiry import notifications_expire
from dispatch.services.processing import order_process
from dispatch.services.reports import delivery_report_receive
from dispatch.services.sending import notifications_release_stuck, notifications_send
from notifications_project.celery import app as celery_app
from orders.models import NotificationChannel, OrderStatus, Person, Recipient, SmsStatus
from tests.dispatch.sending_support import fresh_providers, sms_notification
from tests.dispatch.test_conditions import conditional_order, endpoint
from tests.factories import OrderFactory, SmsTemplateFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_providers")]
__all__ = ["endpoint", "fresh_providers"]

URL = "https://client.example.no/callbacks"


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch) -> None:
    # Recording asks a worker to deliver after commit; these tests look at the outbox itself.
    monkeypatch.setattr(celery_app, "send_task", lambda *args, **kwargs: None)


def order_with_callback(**fields):
    fields.setdefault("status", OrderStatus.PROCESSED)
    return OrderFactory(status_callback_url=URL, senders_reference="case-1", **fields)


# --- the signature ------------------------------------------------------------------------------------


def test_the_header_carries_the_time_and_one_hmac_sha256_per_secret_over_time_dot_body():
    body = body_bytes({"id": "e1", "status": "Delivered"})
    header = signature_header(["new-secret", "old-secret"], body, timestamp=1_767_225_600)

    assert header == (
        f"t=1767225600,v1={signature('new-secret', 1_767_225_600, body)},"
        f"v1={signature('old-secret', 1_767_225_600, body)}"
    )
    expected = hmac.new(b"new-secret", b"1767225600." + body, hashlib.sha256).hexdigest()
    assert signature("new-secret", 1_767_225_600, body) == expected


def test_a_receiver_verifies_with_either_secret_and_refuses_a_changed_body_or_an_old_time():
    body = b'{"id":"e1"}'
    header = signature_header(["new", "old"], body, timestamp=1_000_000)

    assert signature_verify(header, body, "new", now=1_000_010)
    assert signature_verify(header, body, "old", now=1_000_010)
    assert not signature_verify(header, body, "other", now=1_000_010)
    assert not signature_verify(header, b'{"id":"e2"}', "new", now=1_000_010)
    assert not signature_verify(header, body, "new", now=1_000_000 + 301)
    assert not signature_verify("v1=abc", body, "new", now=1_000_000)


# --- recording ----------------------------------------------------------------------------------------


def test_a_refusal_at_send_writes_one_signed_event_with_the_notifications_final_status():
    notification = sms_notification(order=order_with_callback(), mobile_number="+4799000001")

    notifications_send(channel="Sms")

    [delivery] = CallbackDelivery.objects.filter(event_type=CallbackEvent.NOTIFICATION_STATUS)
    assert (delivery.event_type, delivery.status, delivery.state, delivery.url, delivery.creator) == (
        CallbackEvent.NOTIFICATION_STATUS,
        SmsStatus.FAILED_INVALID_RECIPIENT,
        CallbackState.PENDING,
        URL,
        "ttd",
    )
    notification.refresh_from_db()
    assert delivery.payload == {
        "id": str(delivery.event_id),
        "type": "notification.status",
        "orderId": str(notification.order_id),
        "sendersReference": "case-1",
        "channel": "Sms",
        "notification": {
            "id": str(notification.id),
            "succeeded": False,
            "recipient": {"mobileNumber": "+4799000001"},
            "sendStatus": {
                "status": "Failed_InvalidRecipient",
                "description": delivery.payload["notification"]["sendStatus"]["description"],
                "lastUpdate": notification.status_changed_at.isoformat().replace("+00:00", "Z"),
            },
        },
    }
    assert "invalid" in delivery.payload["notification"]["sendStatus"]["description"].lower()


def test_an_accepted_send_is_not_final_and_writes_nothing_until_its_report():
    notification = sms_notification(order=order_with_callback(), mobile_number="+4799999999")
    notifications_send(channel="Sms")
    notification.refresh_from_db()
    assert notification.status == SmsStatus.ACCEPTED
    assert not CallbackDelivery.objects.exists()

    delivery_report_receive(
        report=IncomingReport(
            channel="Sms",
            provider=notification.provider,
            provider_status="DELIVRD",
            mapped=ReportStatus(status="Delivered"),
            reference=notification.provider_reference,
        )
    )

    [delivery] = CallbackDelivery.objects.all()
    assert delivery.status == "Delivered"
    assert delivery.payload["notification"]["succeeded"] is True


def test_orders_without_a_callback_url_write_no_events():
    sms_notification(order=OrderFactory(status=OrderStatus.PROCESSED), mobile_number="+4799000001")
    notifications_send(channel="Sms")
    assert not CallbackDelivery.objects.exists()


def test_an_event_is_not_written_when_the_status_change_is_rolled_back():
    notification = sms_notification(order=order_with_callback(), mobile_number="+4799999999")
    seen_inside = []

    def record_then_fail() -> None:
        with transaction.atomic():
            type(notification).objects.filter(id=notification.id).update(status=SmsStatus.DELIVERED)
            callbacks_record_notifications(channel="Sms", ids=[notification.id])
            seen_inside.append(CallbackDelivery.objects.count())
            raise RuntimeError("the transaction that recorded the status fails")

    with pytest.raises(RuntimeError):
        record_then_fail()
    assert seen_inside == [1]
    assert not CallbackDelivery.objects.exists()


def test_recording_the_same_transition_twice_writes_one_event():
    notification = sms_notification(order=order_with_callback(), status=SmsStatus.DELIVERED)
    callbacks_record_notifications(channel="Sms", ids=[notification.id])
    callbacks_record_notifications(channel="Sms", ids=[notification.id])
    assert CallbackDelivery.objects.count() == 1


def test_a_pending_notification_writes_no_event_even_when_asked():
    notification = sms_notification(order=order_with_callback(), status=SmsStatus.ACCEPTED)
    callbacks_record_notifications(channel="Sms", ids=[notification.id])
    assert not CallbackDelivery.objects.exists()


def test_expiry_writes_a_failed_event_described_as_the_ttl():
    notification = sms_notification(
        order=order_with_callback(), status=SmsStatus.ACCEPTED, expires_at=timezone.now() - timedelta(hours=1)
    )
    assert notifications_expire() == 1

    event = CallbackDelivery.objects.get(notification_id=notification.id)
    assert event.status == "Failed_TTL"
    # Failed_TTL goes out as "Failed", as everywhere in the API.
    assert event.payload["notification"]["sendStatus"]["status"] == "Failed"
    # The order completed in the same sweep and announced it too.
    order_event = CallbackDelivery.objects.get(event_type=CallbackEvent.ORDER_STATUS)
    assert order_event.payload["processingStatus"]["status"] == "Completed"


def test_a_send_given_up_by_the_stuck_send_sweep_writes_a_failed_event(settings):
    settings.NOTIFICATIONS_SEND_MAX_ATTEMPTS = 1
    notification = sms_notification(
        order=order_with_callback(),
        status=SmsStatus.SENDING,
        attempts=1,
        claimed_at=timezone.now() - timedelta(hours=1),
    )
    notifications_release_stuck()
    assert CallbackDelivery.objects.get(notification_id=notification.id).status == "Failed"


def test_completion_writes_one_order_event_with_the_processing_status():
    order = order_with_callback()
    sms_notification(order=order, status=SmsStatus.DELIVERED)
    orders_complete()

    [event] = CallbackDelivery.objects.filter(event_type=CallbackEvent.ORDER_STATUS)
    order.refresh_from_db()
    assert event.payload == {
        "id": str(event.event_id),
        "type": "order.status",
        "orderId": str(order.id),
        "sendersReference": "case-1",
        "processingStatus": {
            "status": "Completed",
            "description": event.payload["processingStatus"]["description"],
            "lastUpdate": order.status_changed_at.isoformat().replace("+00:00", "Z"),
        },
    }
    # Asking again for the same completion changes nothing.
    callbacks_record_orders(order_ids=[order.id])
    assert CallbackDelivery.objects.filter(event_type=CallbackEvent.ORDER_STATUS).count() == 1


def test_notifications_born_final_at_generation_and_the_completed_order_are_announced():
    Person.objects.create(
        national_identity_number="01010112345", name="Kari", mobile_number="+4799999999", reserved=True
    )
    order = OrderFactory(
        status=OrderStatus.REGISTERED,
        status_callback_url=URL,
        requested_send_time=timezone.now(),
        notification_channel=NotificationChannel.SMS,
        sms_template=SmsTemplateFactory(),
    )
    Recipient.objects.create(order=order, position=0, national_identity_number="01010112345")

    order_process(order_id=order.id)

    events = {event.event_type: event for event in CallbackDelivery.objects.all()}
    assert events[CallbackEvent.NOTIFICATION_STATUS].status == "Failed_RecipientReserved"
    assert events[CallbackEvent.ORDER_STATUS].status == OrderStatus.COMPLETED


def test_a_send_condition_not_met_is_announced(endpoint):
    endpoint.answer((200, b'{"sendNotification": false}'))
    order = conditional_order(endpoint.url)
    order.status_callback_url = URL
    order.save(update_fields=["status_callback_url"])

    order_process(order_id=order.id)

    [event] = CallbackDelivery.objects.all()
    assert (event.event_type, event.status) == (CallbackEvent.ORDER_STATUS, "SendConditionNotMet")


def test_events_carry_the_time_they_were_recorded_and_a_24_hour_give_up_time():
    with time_machine.travel("2030-01-01T10:00:00Z", tick=False):
        notification = sms_notification(order=order_with_callback(), status=SmsStatus.DELIVERED)
        callbacks_record_notifications(channel="Sms", ids=[notification.id])
    event = CallbackDelivery.objects.get()
    assert event.created_at.isoformat() == "2030-01-01T10:00:00+00:00"
    assert event.next_attempt_at == event.created_at
    assert event.give_up_at - event.created_at == timedelta(hours=24)


def test_the_readmes_verification_snippet_accepts_our_signature_and_refuses_a_forgery():
    readme = (Path(__file__).resolve().parents[2] / "docs" / "pipeline.md").read_text()
    section = readme.split("**Verifying the signature.**", 1)[1]
    snippet = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, object] = {}
    exec(compile(snippet, "docs/pipeline.md", "exec"), namespace)  # noqa: S102 - our own documentation
    verify = namespace["verify"]

    body = body_bytes({"id": "e1", "type": "order.status"})
    header = signature_header(["new", "old"], body)
    assert verify(header, body, "old") is True  # type: ignore[operator]
    assert verify(header, body + b" ", "old") is False  # type: ignore[operator]
    assert verify(header, body, "wrong") is False  # type: ignore[operator]
