"""Retention: after NOTIFICATIONS_RETENTION_DAYS an order's content is purged; statuses and counts stay."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

import dispatch.tasks  # noqa: F401 - registers the tasks that are enqueued by name
from dispatch.models import DeliveryAttempt, DeliveryReport, SandboxMessage
from dispatch.services.reports import sandbox_reports_deliver
from dispatch.services.retention import is_purged_address, notification_content_purge
from dispatch.services.retry import RetryRefused, notification_retry
from notifications_project.celery import app as celery_app
from orders.models import EmailNotification, Order, OrderStatus, Recipient, SmsNotification
from orders.registry.models import Organization, OrganizationContact, Person
from tests.dispatch.sending_support import fresh_providers

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_providers")]
__all__ = ["fresh_providers"]
API = "/notifications/api/v1"
NIN = "01017012345"


@pytest.fixture
def tasks_run_inline(monkeypatch):
    def send_task(name: str, args: list[Any] | None = None, kwargs: dict[str, Any] | None = None, **_: Any):
        return celery_app.tasks[name].apply(args=args or [], kwargs=kwargs or {})

    monkeypatch.setattr(celery_app, "send_task", send_task)


@pytest.fixture
def delivered_orders(api_client, tasks_run_inline, django_capture_on_commit_callbacks) -> list[str]:
    """An SMS order to a person (by NIN) and an email order to an organization with two addresses,
    both sent through the sandbox and Completed."""
    Person.objects.create(
        national_identity_number=NIN, name="Ola Nordmann", mobile_number="+4799315000", email_address=""
    )
    organization = Organization.objects.create(organization_number="311000001", name="Testbedrift AS")
    for address in ("post@testbedrift.example.no", "varsel@testbedrift.example.no"):
        OrganizationContact.objects.create(organization=organization, kind="email", address=address)
    orders = []
    with django_capture_on_commit_callbacks(execute=True):
        for path, body in (
            ("/orders/sms", {"body": "Hei $recipientName$", "recipients": [{"nationalIdentityNumber": NIN}]}),
            (
                "/orders/email",
                {
                    "subject": "Til $recipientName$",
                    "body": "Org $recipientNumber$",
                    "recipients": [{"organizationNumber": "311000001"}],
                },
            ),
        ):
            response = api_client.post(f"{API}{path}", body, format="json")
            assert response.status_code == 202, response.content
            orders.append(response.json()["orderId"])
    with (
        time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert sandbox_reports_deliver() == 3
    assert set(Order.objects.filter(id__in=orders).values_list("status", flat=True)) == {
        OrderStatus.COMPLETED
    }
    return orders


def _reads(api_client, order_ids: list[str]) -> list[Any]:
    return [
        (
            api_client.get(f"{API}/orders/{order_id}/status").json()["notificationsStatusSummary"],
            [
                n["sendStatus"]["status"]
                for kind in ("sms", "email")
                for n in api_client.get(f"{API}/orders/{order_id}/notifications/{kind}").json()[
                    "notifications"
                ]
            ],
        )
        for order_id in order_ids
    ]


def test_content_is_kept_until_the_retention_has_passed(delivered_orders, settings) -> None:
    settings.NOTIFICATIONS_RETENTION_DAYS = 30

    with time_machine.travel(timezone.now() + timedelta(days=29), tick=False):
        assert notification_content_purge().orders == 0

    assert SmsNotification.objects.get().mobile_number == "+4799315000"


def test_purge_removes_texts_addresses_identifiers_and_raw_answers_but_keeps_statuses_and_counts(
    api_client, delivered_orders, settings
) -> None:
    settings.NOTIFICATIONS_RETENTION_DAYS = 30
    before = _reads(api_client, delivered_orders)

    with time_machine.travel(timezone.now() + timedelta(days=31), tick=False):
        summary = notification_content_purge()

    assert (summary.orders, summary.notifications) == (2, 3)
    assert _reads(api_client, delivered_orders) == before
    sms = SmsNotification.objects.get()
    assert (sms.mobile_number, sms.body, sms.recipient_national_identity_number, sms.recipient_name) == (
        "purged",
        None,
        None,
        None,
    )
    emails = EmailNotification.objects.order_by("to_address")
    assert [e.to_address for e in emails] == ["purged", "purged-2"]
    assert all(
        e.subject is None and e.body is None and e.recipient_organization_number is None for e in emails
    )
    assert {e.status for e in emails} == {"Delivered"}
    assert not Recipient.objects.exclude(
        email_address=None, mobile_number=None, national_identity_number=None, organization_number=None
    ).exists()
    for order in Order.objects.select_related("email_template", "sms_template"):
        assert order.recipient_lookup is None
        template = order.email_template or order.sms_template
        assert template is not None
        assert template.body == ""
    assert set(DeliveryAttempt.objects.values_list("raw_response", "error")) == {("", "")}
    assert set(DeliveryReport.objects.values_list("raw", flat=True)) == {""}
    assert set(SandboxMessage.objects.values_list("recipient", "subject", "body")) == {("", "", "")}
    dump = repr(list(SmsNotification.objects.values())) + repr(list(EmailNotification.objects.values()))
    for secret in (NIN, "99315000", "testbedrift.example.no", "Ola Nordmann", "311000001"):
        assert secret not in dump


def test_a_second_run_finds_nothing_left_to_purge(delivered_orders, settings) -> None:
    settings.NOTIFICATIONS_RETENTION_DAYS = 30
    with time_machine.travel(timezone.now() + timedelta(days=31), tick=False):
        assert notification_content_purge().orders == 2
        assert notification_content_purge().orders == 0


def test_orders_that_are_not_final_are_not_purged(delivered_orders, settings) -> None:
    settings.NOTIFICATIONS_RETENTION_DAYS = 30
    Order.objects.filter(id=delivered_orders[0]).update(status=OrderStatus.PROCESSED)

    with time_machine.travel(timezone.now() + timedelta(days=31), tick=False):
        assert notification_content_purge().orders == 1

    assert SmsNotification.objects.get().mobile_number == "+4799315000"


def test_zero_days_keeps_everything(delivered_orders, settings) -> None:
    settings.NOTIFICATIONS_RETENTION_DAYS = 0
    with time_machine.travel(timezone.now() + timedelta(days=3650), tick=False):
        assert notification_content_purge().orders == 0


def test_a_purged_notification_is_never_retried(delivered_orders, settings) -> None:
    settings.NOTIFICATIONS_RETENTION_DAYS = 30
    SmsNotification.objects.update(status="Failed_Undelivered")
    with time_machine.travel(timezone.now() + timedelta(days=31), tick=False):
        notification_content_purge()

    with pytest.raises(RetryRefused, match="purged"):
        notification_retry(notification=SmsNotification.objects.get(), actor=None)


def test_the_beat_task_runs_the_purge(delivered_orders, settings) -> None:
    settings.NOTIFICATIONS_RETENTION_DAYS = 30
    assert settings.CELERY_BEAT_SCHEDULE["notification-content-purge"]["task"] in celery_app.tasks
    with time_machine.travel(timezone.now() + timedelta(days=31), tick=False):
        assert celery_app.tasks["dispatch.notification_content_purge"].apply().get() == 2


@pytest.mark.parametrize(
    ("address", "purged"),
    [("purged", True), ("purged-12", True), ("purged@x.no", False), ("", False), ("+4799315000", False)],
)
def test_purged_addresses_are_told_apart_from_real_ones(address: str, purged: bool) -> None:
    assert is_purged_address(address) is purged


@pytest.mark.django_db
def test_attempts_of_deleted_orders_are_purged_by_age(settings) -> None:
    import uuid

    settings.NOTIFICATIONS_RETENTION_DAYS = 30
    now = timezone.now()

    def attempt(order_id: uuid.UUID, age: timedelta) -> DeliveryAttempt:
        return DeliveryAttempt.objects.create(
            channel="sms",
            notification_id=uuid.uuid4(),
            order_id=order_id,
            attempt=1,
            provider="twilio",
            outcome="permanent",
            status="Failed",
            started_at=now - age,
            error="refused +4799999999",
            raw_response='{"to": "+4799999999"}',
        )

    old_orphan = attempt(uuid.uuid4(), timedelta(days=31))
    new_orphan = attempt(uuid.uuid4(), timedelta(days=1))

    summary = notification_content_purge(now=now)

    old_orphan.refresh_from_db()
    new_orphan.refresh_from_db()
    assert summary.orphan_attempts == 1
    assert (old_orphan.error, old_orphan.raw_response) == ("", "")
    assert "+4799999999" in new_orphan.error


def test_purge_removes_an_external_identity_and_the_address_it_holds(
    api_client, tasks_run_inline, django_capture_on_commit_callbacks, settings
) -> None:
    settings.NOTIFICATIONS_RETENTION_DAYS = 30
    urn = "urn:altinn:person:idporten-email:per.hemmelig@example.no"
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            f"{API}/future/orders",
            {
                "idempotencyId": "retention-1",
                "recipient": {
                    "recipientExternalIdentity": {
                        "externalIdentity": urn,
                        "channelSchema": "Email",
                        "emailSettings": {"subject": "Hei", "body": "Hei"},
                    }
                },
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    with (
        time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert sandbox_reports_deliver() == 1

    with time_machine.travel(timezone.now() + timedelta(days=31), tick=False):
        assert notification_content_purge().orders == 1

    assert Recipient.objects.get().external_identity is None
    dump = repr(list(Recipient.objects.values())) + repr(list(EmailNotification.objects.values()))
    assert "hemmelig" not in dump
