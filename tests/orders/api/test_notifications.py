"""GET /orders/{id}/notifications/email and /sms: each status with its text, success counting, queries."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from orders.models import EmailStatus, SmsStatus
from tests.factories import EmailNotificationFactory, OrderFactory, SmsNotificationFactory
from tests.orders.api.conftest import API

pytestmark = pytest.mark.django_db

# The reference's texts (§2.5, §2.6), verbatim, and the status string each is reported with.
EMAIL_STATUSES = {
    EmailStatus.NEW: ("New", "The email has been created, but has not been picked up for processing yet."),
    EmailStatus.SENDING: ("Sending", "The email is being processed and will be attempted sent shortly."),
    EmailStatus.SUCCEEDED: (
        "Succeeded",
        "The email has been accepted by the third party email service and will be sent shortly.",
    ),
    EmailStatus.DELIVERED: (
        "Delivered",
        "The email was delivered to the recipient. No errors reported, making it likely it was received by "
        "the recipient.",
    ),
    EmailStatus.FAILED: ("Failed", "The email was not sent due to an unspecified failure."),
    EmailStatus.FAILED_RECIPIENT_RESERVED: (
        "Failed_RecipientReserved",
        "The email was not sent because the recipient has reserved themselves from electronic communication.",
    ),
    EmailStatus.FAILED_RECIPIENT_NOT_IDENTIFIED: (
        "Failed_RecipientNotIdentified",
        "The email was not sent because the recipient's email address was not found.",
    ),
    EmailStatus.FAILED_INVALID_EMAIL_FORMAT: (
        "Failed_InvalidEmailFormat",
        "The email was not sent because the recipient\u2019s email address is in an invalid format.",
    ),
    EmailStatus.FAILED_SUPPRESSED_RECIPIENT: (
        "Failed_SupressedRecipient",
        "The email was not sent because the recipient\u2019s email address is suppressed by the third party "
        "email service.",
    ),
    EmailStatus.FAILED_TRANSIENT_ERROR: (
        "Failed_TransientError",
        "The email was not sent due to a transient error. We will retry sending the email.",
    ),
    EmailStatus.FAILED_BOUNCED: (
        "Failed_Bounced",
        "The email hard bounced, which may have happened because the email address does not exist or the "
        "domain is invalid.",
    ),
    EmailStatus.FAILED_FILTERED_SPAM: (
        "Failed_FilteredSpam",
        "The email was identified as spam, and was rejected or blocked (not quarantined).",
    ),
    EmailStatus.FAILED_QUARANTINED: (
        "Failed_Quarantined",
        "The email was quarantined (as spam, bulk mail, or phising).",
    ),
    EmailStatus.FAILED_TTL: (
        "Failed",
        "The email was in indefinite state Succeeded for too long (TTL), and was subsequently set to failed.",
    ),
    EmailStatus.FAILED_INVALID_ATTACHMENT: (
        "Failed_InvalidAttachment",
        "The email was not sent because one or more attachment URLs are invalid, expired, or inaccessible, "
        "or an attachment's host or type is not allowed.",
    ),
    EmailStatus.FAILED_PAYLOAD_TOO_LARGE: (
        "Failed_PayloadTooLarge",
        "The email was not sent because the total size of the attachments exceeds the allowed limit.",
    ),
}

SMS_STATUSES = {
    SmsStatus.NEW: ("New", "The SMS has been created, but has not been picked up for processing yet."),
    SmsStatus.SENDING: ("Sending", "The SMS is being processed and will be attempted sent shortly."),
    SmsStatus.ACCEPTED: (
        "Accepted",
        "The SMS has been accepted by the gateway service and will be sent shortly.",
    ),
    SmsStatus.DELIVERED: ("Delivered", "The SMS was successfully delivered to its destination."),
    SmsStatus.FAILED: ("Failed", "The SMS was not delivered due to an unspecified failure."),
    SmsStatus.FAILED_INVALID_RECIPIENT: (
        "Failed_InvalidRecipient",
        "The SMS was not delivered because the recipient's mobile number was invalid.",
    ),
    SmsStatus.FAILED_RECIPIENT_RESERVED: (
        "Failed_RecipientReserved",
        "The SMS was not sent because the recipient has reserved themselves from electronic communication.",
    ),
    SmsStatus.FAILED_BARRED_RECEIVER: (
        "Failed_BarredReceiver",
        "The SMS was not delivered because the recipient's number is barred, blocked or not in use.",
    ),
    SmsStatus.FAILED_DELETED: (
        "Failed_Deleted",
        "The SMS was not delivered because the message has been deleted.",
    ),
    SmsStatus.FAILED_EXPIRED: ("Failed_Expired", "The SMS was not delivered because it has expired."),
    SmsStatus.FAILED_UNDELIVERED: (
        "Failed_Undelivered",
        "The SMS was not delivered due to invalid number or no available route to destination.",
    ),
    SmsStatus.FAILED_RECIPIENT_NOT_IDENTIFIED: (
        "Failed_RecipientNotIdentified",
        "The SMS was not delivered because the recipient's mobile number was not found.",
    ),
    SmsStatus.FAILED_REJECTED: ("Failed_Rejected", "The SMS was not delivered because it was rejected."),
    SmsStatus.FAILED_TTL: (
        "Failed",
        "The SMS was in indefinite state Accepted for too long (TTL), and was subsequently set to failed.",
    ),
}


def test_every_email_status_has_its_text() -> None:
    assert set(EMAIL_STATUSES) == set(EmailStatus.values)


def test_every_sms_status_has_its_text() -> None:
    assert set(SMS_STATUSES) == set(SmsStatus.values)


@pytest.mark.parametrize(("status", "wire"), list(EMAIL_STATUSES.items()))
def test_email_notification_reports_its_status_and_description(
    api_client: APIClient, status: str, wire: tuple[str, str]
) -> None:
    notification = EmailNotificationFactory(status=status, recipient_position=0)

    body = api_client.get(f"{API}/orders/{notification.order_id}/notifications/email").json()

    send_status = body["notifications"][0]["sendStatus"]
    assert (send_status["status"], send_status["description"]) == wire
    succeeded = status in (EmailStatus.SUCCEEDED, EmailStatus.DELIVERED)
    assert body["notifications"][0]["succeeded"] is succeeded
    assert body["succeeded"] == int(succeeded)


@pytest.mark.parametrize(("status", "wire"), list(SMS_STATUSES.items()))
def test_sms_notification_reports_its_status_and_description(
    api_client: APIClient, status: str, wire: tuple[str, str]
) -> None:
    notification = SmsNotificationFactory(status=status, recipient_position=0)

    body = api_client.get(f"{API}/orders/{notification.order_id}/notifications/sms").json()

    send_status = body["notifications"][0]["sendStatus"]
    assert (send_status["status"], send_status["description"]) == wire
    succeeded = status in (SmsStatus.ACCEPTED, SmsStatus.DELIVERED)
    assert body["notifications"][0]["succeeded"] is succeeded
    assert body["succeeded"] == int(succeeded)


def test_notifications_show_the_identifiers_of_looked_up_recipients_in_recipient_order(
    api_client: APIClient,
) -> None:
    order = OrderFactory(email=True, senders_reference=None)
    EmailNotificationFactory(
        order=order, recipient_position=1, recipient_organization_number="311000179", to_address="post@org.no"
    )
    EmailNotificationFactory(
        order=order,
        recipient_position=0,
        recipient_national_identity_number="11876995923",
        to_address="",  # reserved: no address was used
        status=EmailStatus.FAILED_RECIPIENT_RESERVED,
    )

    body = api_client.get(f"{API}/orders/{order.id}/notifications/email").json()

    assert "sendersReference" not in body
    assert [n["recipient"] for n in body["notifications"]] == [
        {"nationalIdentityNumber": "11876995923"},
        {"organizationNumber": "311000179", "emailAddress": "post@org.no"},
    ]


@pytest.mark.parametrize("channel", ["email", "sms"])
def test_order_without_notifications_of_the_channel_answers_an_empty_list(
    api_client: APIClient, channel: str
) -> None:
    order = OrderFactory(senders_reference="ref")

    response = api_client.get(f"{API}/orders/{order.id}/notifications/{channel}")

    assert response.status_code == 200
    assert response.json() == {
        "orderId": str(order.id),
        "sendersReference": "ref",
        "generated": 0,
        "succeeded": 0,
        "notifications": [],
    }


@pytest.mark.parametrize("channel", ["email", "sms"])
def test_another_creators_notifications_are_404(other_client: APIClient, channel: str) -> None:
    order = OrderFactory(creator="ttd")
    SmsNotificationFactory(order=order, recipient_position=0)
    EmailNotificationFactory(order=order, recipient_position=0)

    response = other_client.get(f"{API}/orders/{order.id}/notifications/{channel}")

    assert response.status_code == 404
    assert response.content == b""


@pytest.mark.parametrize(
    ("channel", "factory", "statuses"),
    [
        ("email", EmailNotificationFactory, [EmailStatus.NEW, EmailStatus.SUCCEEDED, EmailStatus.DELIVERED]),
        ("sms", SmsNotificationFactory, [SmsStatus.NEW, SmsStatus.ACCEPTED, SmsStatus.DELIVERED]),
    ],
)
@pytest.mark.parametrize("count", [1, 60])
def test_notification_list_query_count_does_not_grow_with_the_notifications(
    api_client: APIClient,
    django_assert_num_queries: Any,
    channel: str,
    factory: Any,
    statuses: list[str],
    count: int,
) -> None:
    order = OrderFactory()
    for position in range(count):
        factory(order=order, recipient_position=position, status=statuses[position % len(statuses)])

    with django_assert_num_queries(2):
        response = api_client.get(f"{API}/orders/{order.id}/notifications/{channel}")

    body = response.json()
    assert body["generated"] == count
    assert body["succeeded"] == sum(1 for position in range(count) if position % 3 != 0)
    assert len(body["notifications"]) == count
