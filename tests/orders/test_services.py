"""Order registration, the receipt's recipient lookup, enqueueing after commit, and cancellation."""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from kombu.exceptions import OperationalError

from core.problems import ConflictError
from notifications_project import celery_app
from orders.models import NotificationChannel, Order, OrderStatus, Recipient, SendingTimePolicy
from orders.registry import get_registry
from orders.registry.models import Organization, OrganizationContact, Person
from orders.services import (
    OrderNotFound,
    RecipientData,
    order_cancel,
    order_create,
    recipient_lookup_summarise,
)
from templates.records import EmailTemplateData, SmsTemplateData
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

SMS_TEMPLATE = SmsTemplateData(body="Hello")
EMAIL_TEMPLATE = EmailTemplateData(subject="Subject", body="Body")


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[Any]]]:
    calls: list[tuple[str, list[Any]]] = []
    monkeypatch.setattr(
        celery_app, "send_task", lambda name, args=None, **kw: calls.append((name, list(args)))
    )
    return calls


def _person(nin: str, *, reserved: bool = False, mobile: str = "", email: str = "") -> None:
    Person.objects.create(
        national_identity_number=nin, reserved=reserved, mobile_number=mobile, email_address=email
    )


def _organization(orgno: str, *, emails: Sequence[str] = (), mobiles: Sequence[str] = ()) -> None:
    organization = Organization.objects.create(organization_number=orgno, name="Org")
    for address in emails:
        OrganizationContact.objects.create(organization=organization, kind="email", address=address)
    for number in mobiles:
        OrganizationContact.objects.create(organization=organization, kind="sms", address=number)


def test_order_create_stores_the_order_templates_and_recipients_in_request_order() -> None:
    recipients = [
        RecipientData(mobile_number="+4799999999"),
        RecipientData(email_address="a@example.com", mobile_number="+4799999998"),
        RecipientData(mobile_number="+4799999997"),
    ]

    receipt = order_create(
        creator="ttd",
        notification_channel=NotificationChannel.SMS_PREFERRED,
        recipients=recipients,
        senders_reference="ref-1",
        email_template=EMAIL_TEMPLATE,
        sms_template=SmsTemplateData(body="Hi", sender_number="Etaten"),
    )

    order = Order.objects.get(id=receipt.order.id)
    assert order.status == OrderStatus.REGISTERED
    assert order.creator == "ttd"
    assert order.senders_reference == "ref-1"
    assert order.sms_template is not None
    assert order.sms_template.sender_number == "Etaten"
    assert order.email_template is not None
    assert order.email_template.subject == "Subject"
    stored = list(
        order.recipients.order_by("position").values_list("position", "mobile_number", "email_address")
    )
    assert stored == [(0, "+4799999999", None), (1, "+4799999998", "a@example.com"), (2, "+4799999997", None)]
    assert receipt.recipient_lookup is None
    assert order.recipient_lookup is None


def test_order_create_fills_in_the_configured_default_senders(settings: Any) -> None:
    settings.NOTIFICATIONS_DEFAULT_SMS_SENDER = "Etaten"
    settings.NOTIFICATIONS_DEFAULT_EMAIL_FROM = "noreply@etaten.no"

    receipt = order_create(
        creator="ttd",
        notification_channel=NotificationChannel.EMAIL_PREFERRED,
        recipients=[RecipientData(email_address="a@example.com")],
        email_template=EMAIL_TEMPLATE,
        sms_template=SMS_TEMPLATE,
    )

    order = receipt.order
    assert order.email_template is not None
    assert order.email_template.from_address == "noreply@etaten.no"
    assert order.sms_template is not None
    assert order.sms_template.sender_number == "Etaten"


@pytest.mark.parametrize(
    ("channel", "policy"),
    [
        (NotificationChannel.EMAIL, SendingTimePolicy.ANYTIME),
        (NotificationChannel.SMS, SendingTimePolicy.DAYTIME),
        (NotificationChannel.EMAIL_PREFERRED, SendingTimePolicy.DAYTIME),
        (NotificationChannel.SMS_PREFERRED, SendingTimePolicy.DAYTIME),
        (NotificationChannel.EMAIL_AND_SMS, SendingTimePolicy.DAYTIME),
    ],
)
def test_orders_that_can_send_sms_keep_to_the_daytime_window(channel: str, policy: str) -> None:
    receipt = order_create(
        creator="ttd",
        notification_channel=channel,
        recipients=[RecipientData(email_address="a@example.com", mobile_number="+4799999999")],
        email_template=EMAIL_TEMPLATE,
        sms_template=SMS_TEMPLATE,
    )

    assert receipt.order.sending_time_policy == policy


def test_whitespace_only_senders_reference_is_stored_as_none() -> None:
    receipt = order_create(
        creator="ttd",
        notification_channel=NotificationChannel.SMS,
        recipients=[RecipientData(mobile_number="+4799999999")],
        senders_reference="   ",
        sms_template=SMS_TEMPLATE,
    )

    assert Order.objects.get(id=receipt.order.id).senders_reference is None


@time_machine.travel("2030-01-15 08:00:00+00:00", tick=False)
def test_order_without_send_time_is_due_now_and_enqueued_after_commit(
    published: list[tuple[str, list[Any]]], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        receipt = order_create(
            creator="ttd",
            notification_channel=NotificationChannel.SMS,
            recipients=[RecipientData(mobile_number="+4799999999")],
            sms_template=SMS_TEMPLATE,
        )
        # Nothing is published before the transaction commits.
        assert published == []

    assert len(callbacks) == 1
    assert receipt.order.requested_send_time == timezone.now()
    assert published == [("dispatch.order_process", [str(receipt.order.id)])]


def test_order_for_later_is_left_to_the_due_order_sweep(
    published: list[tuple[str, list[Any]]], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        order_create(
            creator="ttd",
            notification_channel=NotificationChannel.SMS,
            recipients=[RecipientData(mobile_number="+4799999999")],
            requested_send_time=timezone.now() + timedelta(hours=2),
            sms_template=SMS_TEMPLATE,
        )

    assert published == []


def test_broker_failure_after_commit_keeps_the_order_and_logs_a_warning(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def broker_down(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(celery_app, "send_task", broker_down)

    with caplog.at_level(logging.WARNING, logger="orders.services"):
        with django_capture_on_commit_callbacks(execute=True):
            receipt = order_create(
                creator="ttd",
                notification_channel=NotificationChannel.SMS,
                recipients=[RecipientData(mobile_number="+4799999999")],
                sms_template=SMS_TEMPLATE,
            )

    assert Order.objects.filter(id=receipt.order.id, status=OrderStatus.REGISTERED).exists()
    assert "due-order sweep" in caplog.text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _lookup(channel: str, *recipients: RecipientData) -> dict[str, Any] | None:
    lookup = recipient_lookup_summarise(channel=channel, recipients=recipients, registry=get_registry())
    return lookup.as_receipt() if lookup else None


NIN, ORGNO = "11876995923", "311000179"
PERSON, ORGANIZATION = RecipientData(national_identity_number=NIN), RecipientData(organization_number=ORGNO)


def test_lookup_is_omitted_when_every_recipient_has_an_address(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        lookup = _lookup(
            NotificationChannel.SMS,
            RecipientData(mobile_number="+4799999999"),
            RecipientData(email_address="a@b.no"),
        )

    assert lookup is None


def test_lookup_succeeds_when_every_person_and_organization_has_an_address_for_the_channel() -> None:
    _person(NIN, mobile="+4799999999")
    _organization(ORGNO, mobiles=("+4791234567",))

    assert _lookup(NotificationChannel.SMS, PERSON, ORGANIZATION) == {
        "status": "Success",
        "isReserved": [],
        "missingContact": [],
    }


@pytest.mark.parametrize(
    ("channel", "person", "organization", "missing"),
    [
        # Email needs an address, SMS a number; the other channels either.
        (NotificationChannel.EMAIL, {"mobile": "+4799999999"}, {"mobiles": ("+4791234567",)}, [NIN, ORGNO]),
        (NotificationChannel.SMS, {"email": "p@b.no"}, {"emails": ("o@b.no",)}, [NIN, ORGNO]),
        (NotificationChannel.EMAIL, {"email": "p@b.no"}, {"emails": ("o@b.no",)}, []),
        (NotificationChannel.EMAIL_PREFERRED, {"mobile": "+4799999999"}, {"emails": ("o@b.no",)}, []),
        (NotificationChannel.SMS_PREFERRED, {"email": "p@b.no"}, {"mobiles": ("+4791234567",)}, []),
        (NotificationChannel.EMAIL_AND_SMS, {"email": "p@b.no"}, {"mobiles": ("+4791234567",)}, []),
        (NotificationChannel.EMAIL_AND_SMS, {}, {}, [NIN, ORGNO]),
    ],
)
def test_lookup_lists_recipients_without_an_address_for_the_channel(
    channel: str, person: dict[str, str], organization: dict[str, Any], missing: list[str]
) -> None:
    _person(NIN, **person)
    _organization(ORGNO, **organization)

    lookup = _lookup(channel, PERSON, ORGANIZATION)

    assert lookup is not None
    assert lookup["missingContact"] == missing
    assert lookup["status"] == ("Failed" if len(missing) == 2 else "Success")


def test_unknown_persons_and_organizations_are_missing_contact_and_all_missing_is_failed() -> None:
    assert _lookup(NotificationChannel.EMAIL, PERSON, ORGANIZATION) == {
        "status": "Failed",
        "isReserved": [],
        "missingContact": [NIN, ORGNO],
    }


def test_reserved_person_is_listed_as_reserved_not_missing_and_makes_a_partial_success() -> None:
    _person(NIN, reserved=True)  # no address either: reserved wins
    _person("01017012345", email="p@b.no")

    lookup = recipient_lookup_summarise(
        channel=NotificationChannel.EMAIL,
        recipients=[
            PERSON,
            RecipientData(national_identity_number="01017012345"),
            RecipientData(email_address="d@b.no"),
        ],
        registry=get_registry(),
    )

    assert lookup is not None
    assert lookup.as_receipt() == {"status": "PartialSuccess", "isReserved": [NIN], "missingContact": []}
    assert lookup.reservations == {NIN: True, "01017012345": False}


def test_the_same_identifier_twice_is_listed_once() -> None:
    assert _lookup(NotificationChannel.SMS, ORGANIZATION, ORGANIZATION) == {
        "status": "Failed",
        "isReserved": [],
        "missingContact": [ORGNO],
    }


def test_order_create_stores_the_receipt_and_the_reservations_found() -> None:
    _person(NIN, reserved=True, mobile="+4799999999")

    receipt = order_create(
        creator="ttd",
        notification_channel=NotificationChannel.SMS,
        recipients=[PERSON, RecipientData(national_identity_number="01017012345")],
        ignore_reservation=True,
        sms_template=SMS_TEMPLATE,
    )

    order = Order.objects.get(id=receipt.order.id)
    # ignoreReservation does not change the receipt, as in the reference.
    assert order.recipient_lookup == {
        "status": "Failed",
        "isReserved": [NIN],
        "missingContact": ["01017012345"],
    }
    reserved = dict(
        Recipient.objects.filter(order=order).values_list("national_identity_number", "is_reserved")
    )
    assert reserved == {NIN: True, "01017012345": None}


def test_registry_outage_at_registration_accepts_the_order_without_a_lookup_result(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # The HTTP backend against a port nothing listens on: connection refused.
    settings.NOTIFICATIONS_REGISTRY_BACKEND = "http"
    settings.NOTIFICATIONS_REGISTRY_URL = f"http://127.0.0.1:{_free_port()}/"

    with caplog.at_level(logging.WARNING, logger="orders.services"):
        receipt = order_create(
            creator="ttd",
            notification_channel=NotificationChannel.SMS,
            recipients=[PERSON],
            sms_template=SMS_TEMPLATE,
        )

    assert receipt.recipient_lookup is None
    assert Order.objects.filter(id=receipt.order.id, status=OrderStatus.REGISTERED).exists()
    assert Recipient.objects.get(order_id=receipt.order.id).is_reserved is None
    assert "registry unavailable" in caplog.text


# --- Cancellation ----------------------------------------------------------------------------------


def test_cancel_of_a_registered_order_far_enough_ahead_cancels_it() -> None:
    order = OrderFactory(requested_send_time=timezone.now() + timedelta(hours=1))

    cancelled = order_cancel(order_id=order.id, creator="ttd")

    assert cancelled.status == OrderStatus.CANCELLED
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.status_changed_at > order.created_at


def test_cancel_of_an_already_cancelled_order_returns_it_again() -> None:
    order = OrderFactory(status=OrderStatus.CANCELLED)

    assert order_cancel(order_id=order.id, creator="ttd").status == OrderStatus.CANCELLED


@pytest.mark.parametrize(
    "status",
    [
        OrderStatus.PROCESSING,
        OrderStatus.PROCESSED,
        OrderStatus.COMPLETED,
        OrderStatus.SEND_CONDITION_NOT_MET,
    ],
)
def test_cancel_of_an_order_past_registration_is_a_conflict(status: str) -> None:
    order = OrderFactory(status=status, requested_send_time=timezone.now() + timedelta(hours=1))

    with pytest.raises(ConflictError):
        order_cancel(order_id=order.id, creator="ttd")
    order.refresh_from_db()
    assert order.status == status


@pytest.mark.parametrize("minutes_ahead", [-60, 0, 4, 5])
def test_cancel_within_five_minutes_of_the_send_time_is_a_conflict(minutes_ahead: int) -> None:
    with time_machine.travel("2030-01-15 08:00:00+00:00", tick=False):
        order = OrderFactory(requested_send_time=timezone.now() + timedelta(minutes=minutes_ahead))

        with pytest.raises(ConflictError):
            order_cancel(order_id=order.id, creator="ttd")

    order.refresh_from_db()
    assert order.status == OrderStatus.REGISTERED


def test_cancel_just_over_five_minutes_ahead_is_allowed() -> None:
    with time_machine.travel("2030-01-15 08:00:00+00:00", tick=False):
        order = OrderFactory(requested_send_time=timezone.now() + timedelta(minutes=5, seconds=1))

        assert order_cancel(order_id=order.id, creator="ttd").status == OrderStatus.CANCELLED


def test_cancel_of_another_creators_order_is_not_found_and_changes_nothing() -> None:
    order = OrderFactory(creator="nav")

    with pytest.raises(OrderNotFound):
        order_cancel(order_id=order.id, creator="ttd")
    order.refresh_from_db()
    assert order.status == OrderStatus.REGISTERED


def test_cancel_loses_to_a_claim_that_got_there_first() -> None:
    order = OrderFactory(requested_send_time=timezone.now() + timedelta(hours=1))
    # The pipeline claims the order between the client's decision and the cancel's UPDATE.
    Order.objects.filter(id=order.id, status=OrderStatus.REGISTERED).update(status=OrderStatus.PROCESSING)

    with pytest.raises(ConflictError):
        order_cancel(order_id=order.id, creator="ttd")
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
