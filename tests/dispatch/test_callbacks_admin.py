"""The callback, signing secret and provider health admins, per staff group."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dispatch.models import (
    CallbackAttempt,
    CallbackDelivery,
    CallbackSecret,
    CallbackState,
    ProviderHealth,
    ProviderHealthEvent,
    ProviderState,
)
from dispatch.services.callback_outbox import callbacks_record_notifications
from dispatch.services.callback_secrets import callback_secret_get_or_create
from notifications_project.celery import app as celery_app
from orders.audit import AuditAction, AuditEntry
from orders.models import OrderStatus, SmsStatus
from tests.dispatch.sending_support import sms_notification
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.orders.admin_support"]  # staff clients of each group

DELIVERY_LIST = reverse("admin:dispatch_callbackdelivery_changelist")
SECRET_LIST = reverse("admin:dispatch_callbacksecret_changelist")


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch) -> None:
    monkeypatch.setattr(celery_app, "send_task", lambda *args, **kwargs: None)


def failed_delivery() -> CallbackDelivery:
    order = OrderFactory(status=OrderStatus.PROCESSED, status_callback_url="https://client.example.no/cb")
    notification = sms_notification(order=order, status=SmsStatus.DELIVERED)
    callbacks_record_notifications(channel="Sms", ids=[notification.id])
    delivery = CallbackDelivery.objects.get(notification_id=notification.id)
    CallbackAttempt.objects.create(
        delivery=delivery,
        attempt=1,
        started_at=timezone.now(),
        duration_ms=12,
        status_code=503,
        error="",
        response_body="<h1>maintenance</h1>",
    )
    CallbackDelivery.objects.filter(id=delivery.id).update(
        state=CallbackState.FAILED, attempts=1, last_status_code=503, last_error="gave up after 1 attempts"
    )
    delivery.refresh_from_db()
    return delivery


def change_url(delivery: CallbackDelivery, name: str = "change") -> str:
    return reverse(f"admin:dispatch_callbackdelivery_{name}", args=[delivery.pk])


def test_support_finds_a_callback_by_order_id_and_sees_its_attempts_and_body(support_client):
    delivery = failed_delivery()
    response = support_client.get(DELIVERY_LIST, {"q": str(delivery.order_id)})
    assert [row.pk for row in response.context["cl"].result_list] == [delivery.pk]

    page = support_client.get(change_url(delivery)).content.decode()
    assert "503" in page
    assert "&lt;h1&gt;maintenance&lt;/h1&gt;" in page  # the receiver's answer, escaped
    assert str(delivery.event_id) in page
    assert "Re-send" not in page  # support may look, not re-send


def test_support_may_not_resend(support_client):
    delivery = failed_delivery()
    assert support_client.post(change_url(delivery, "resend")).status_code == 403
    delivery.refresh_from_db()
    assert delivery.state == CallbackState.FAILED


def test_an_operator_resends_a_failed_callback_from_its_page_and_it_is_audited(operator_client, operator):
    delivery = failed_delivery()
    assert "Re-send" in operator_client.get(change_url(delivery)).content.decode()

    response = operator_client.post(change_url(delivery, "resend"))

    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (CallbackState.PENDING, 0)
    assert delivery.give_up_at > timezone.now() + timedelta(hours=23)
    entry = AuditEntry.objects.get(action=AuditAction.CALLBACK_RESEND)
    assert (entry.actor_id, entry.target_id, entry.details["from_state"]) == (
        operator.id,
        str(delivery.pk),
        "failed",
    )


def test_resend_selected_queues_every_selected_callback(operator_client):
    deliveries = [failed_delivery() for _ in range(3)]
    response = operator_client.post(
        DELIVERY_LIST,
        {"action": "resend_selected", "_selected_action": [d.pk for d in deliveries]},
        follow=True,
    )
    assert "Queued 3 callback(s) to be sent again." in response.content.decode()
    assert set(CallbackDelivery.objects.values_list("state", flat=True)) == {CallbackState.PENDING}
    assert AuditEntry.objects.filter(action=AuditAction.CALLBACK_RESEND).count() == 3


def test_secrets_are_masked_for_support_and_shown_to_operators_who_may_rotate(
    support_client, operator_client
):
    secret = callback_secret_get_or_create(creator="ttd")
    url = reverse("admin:dispatch_callbacksecret_change", args=[secret.pk])
    assert secret.secret not in support_client.get(url).content.decode()
    assert secret.secret not in support_client.get(SECRET_LIST).content.decode()
    assert secret.secret in operator_client.get(url).content.decode()


def test_an_operator_rotates_and_deactivates_secrets_with_actions(operator_client):
    old = callback_secret_get_or_create(creator="ttd")
    operator_client.post(SECRET_LIST, {"action": "rotate_selected", "_selected_action": [old.pk]})
    new = CallbackSecret.objects.filter(creator="ttd").order_by("-created_at").first()
    assert new is not None
    assert new.pk != old.pk

    page = operator_client.get(SECRET_LIST).content.decode()
    assert "signs" in page
    assert "co-signs (grace period)" in page

    operator_client.post(SECRET_LIST, {"action": "deactivate_selected", "_selected_action": [old.pk]})
    old.refresh_from_db()
    assert old.active is False
    assert AuditEntry.objects.filter(action=AuditAction.CALLBACK_SECRET_CHANGE).count() == 2


def test_support_cannot_rotate(support_client):
    old = callback_secret_get_or_create(creator="ttd")
    support_client.post(SECRET_LIST, {"action": "rotate_selected", "_selected_action": [old.pk]})
    assert CallbackSecret.objects.filter(creator="ttd").count() == 1


def test_provider_health_and_its_switches_are_listed(support_client):
    now = timezone.now()
    ProviderHealth.objects.create(key="Sms:twilio", state=ProviderState.DOWN, changed_at=now, reason="x")
    ProviderHealthEvent.objects.create(
        created_at=now,
        key="Sms:twilio",
        from_state=ProviderState.HEALTHY,
        to_state=ProviderState.DOWN,
        reason="30 of 40 attempts failed",
        attempts=40,
        errors=30,
        latency_ms=120,
    )
    assert (
        "Sms:twilio"
        in support_client.get(reverse("admin:dispatch_providerhealth_changelist")).content.decode()
    )
    page = support_client.get(reverse("admin:dispatch_providerhealthevent_changelist")).content.decode()
    assert "30 of 40 attempts failed" in page
