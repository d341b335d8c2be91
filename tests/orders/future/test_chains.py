"""POST /future/orders and GET /future/orders/chain/{id}: order chains with reminders, through the API."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

from orders.chains import order_chain_requests_purge
from orders.models import Order, OrderChain, OrderStatus, OrderType, SendingTimePolicy
from tests.orders.future.conftest import FUTURE, post_future

pytestmark = pytest.mark.django_db

EMAIL_SETTINGS = {"subject": "Ny melding", "body": "Du har en ny melding"}
SMS_SETTINGS = {"body": "Du har en ny melding"}
PREFERRED = "EmailSettings/SmsSettings must be set when ChannelSchema is SmsPreferred or EmailPreferred"


def sms_recipient(number: str = "+4799999999", **settings: Any) -> dict[str, Any]:
    return {"recipientSms": {"phoneNumber": number, "smsSettings": {**SMS_SETTINGS, **settings}}}


def email_recipient(address: str = "ola@example.no") -> dict[str, Any]:
    return {"recipientEmail": {"emailAddress": address, "emailSettings": EMAIL_SETTINGS}}


def person(nin: str, channel: str = "Email", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"nationalIdentityNumber": nin, "channelSchema": channel}
    if channel != "Sms":
        body["emailSettings"] = EMAIL_SETTINGS
    if channel != "Email":
        body["smsSettings"] = SMS_SETTINGS
    return {"recipientPerson": {**body, **fields}}


def organization(orgno: str, channel: str = "Email", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"orgNumber": orgno, "channelSchema": channel}
    if channel != "Sms":
        body["emailSettings"] = EMAIL_SETTINGS
    if channel != "Email":
        body["smsSettings"] = SMS_SETTINGS
    return {"recipientOrganization": {**body, **fields}}


def chain(recipient: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    if recipient is None:
        recipient = sms_recipient()
    return {"idempotencyId": f"id-{uuid.uuid4()}", "recipient": recipient, **fields}


def later(**delta: float) -> str:
    return (timezone.now() + timedelta(**delta)).isoformat()


# --- Registration ------------------------------------------------------------------------------------


def test_a_chain_is_registered_with_201_a_receipt_and_a_location_that_is_served(
    api_client: APIClient,
) -> None:
    response = post_future(api_client, "/orders", chain(sendersReference="case-4711"))

    assert response.status_code == 201, response.content
    body = response.json()
    chain_id, shipment_id = body["notificationOrderId"], body["notification"]["shipmentId"]
    assert chain_id != shipment_id
    assert body == {
        "notificationOrderId": chain_id,
        "notification": {"shipmentId": shipment_id, "sendersReference": "case-4711", "smsPartCount": 1},
    }
    assert response["Location"] == f"http://testserver{FUTURE}/orders/chain/{chain_id}"
    assert api_client.get(response["Location"]).status_code == 200
    order = Order.objects.get(id=shipment_id)
    assert (order.type, order.status, order.notification_channel, order.chain_id) == (
        OrderType.NOTIFICATION,
        OrderStatus.REGISTERED,
        "Sms",
        uuid.UUID(chain_id),
    )
    assert order.sms_template is not None
    assert (order.sms_template.body, order.sms_template.sender_number) == ("Du har en ny melding", "Altinn")
    assert list(order.recipients.values_list("mobile_number", flat=True)) == ["+4799999999"]


def test_reminders_are_orders_of_their_own_sent_days_after_the_main_send_time(api_client: APIClient) -> None:
    main_time = timezone.now() + timedelta(days=2)
    explicit = timezone.now() + timedelta(days=30)
    body = chain(
        sendersReference="main-ref",
        requestedSendTime=main_time.isoformat(),
        conditionEndpoint="https://service.example.no/api/should-notify",
        reminders=[
            {
                "delayDays": 3,
                "conditionEndpoint": "http://localhost:8080/unread?id=4711",
                "recipient": email_recipient(),
            },
            {
                "requestedSendTime": explicit.isoformat(),
                "sendersReference": "second",
                "recipient": sms_recipient(),
            },
        ],
    )

    response = post_future(api_client, "/orders", body)

    assert response.status_code == 201, response.content
    notification = response.json()["notification"]
    first, second = notification["reminders"]
    assert "sendersReference" not in first  # not inherited from the main notification
    assert second["sendersReference"] == "second"
    main = Order.objects.get(id=notification["shipmentId"])
    reminder = Order.objects.get(id=first["shipmentId"])
    assert reminder.type == OrderType.REMINDER
    assert reminder.chain_id == main.chain_id
    assert reminder.requested_send_time == main.requested_send_time + timedelta(days=3)
    assert reminder.condition_endpoint == "http://localhost:8080/unread?id=4711"
    assert reminder.senders_reference is None
    assert reminder.notification_channel == "Email"
    assert main.condition_endpoint == "https://service.example.no/api/should-notify"
    assert Order.objects.get(id=second["shipmentId"]).requested_send_time == explicit


def test_only_due_shipments_are_handed_to_the_pipeline_after_commit(
    api_client: APIClient, published: list[tuple[str, list[Any]]], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = post_future(
            api_client, "/orders", chain(reminders=[{"delayDays": 1, "recipient": sms_recipient()}])
        )

    assert published == [("dispatch.order_process", [response.json()["notification"]["shipmentId"]])]


def test_the_sending_time_policy_is_the_sms_settings_one_and_email_only_shipments_are_anytime(
    api_client: APIClient, registry_organization: Any
) -> None:
    registry_organization("987654321", emails=("post@org.no",), mobiles=("+4790000002",))
    both = organization("987654321", "EmailAndSms")
    both["recipientOrganization"]["smsSettings"] = {**SMS_SETTINGS, "sendingTimePolicy": "Anytime"}
    response = post_future(
        api_client,
        "/orders",
        chain(both, reminders=[{"delayDays": 1, "recipient": organization("987654321", "Email")}]),
    )

    notification = response.json()["notification"]
    policies = {
        Order.objects.get(id=notification["shipmentId"]).sending_time_policy,
        Order.objects.get(id=notification["reminders"][0]["shipmentId"]).sending_time_policy,
    }
    assert policies == {SendingTimePolicy.ANYTIME}
    assert Order.objects.get(id=notification["shipmentId"]).notification_channel == "EmailAndSms"
    daytime = post_future(api_client, "/orders", chain(sms_recipient())).json()
    assert Order.objects.get(id=daytime["notification"]["shipmentId"]).sending_time_policy == "Daytime"


def test_a_person_recipient_keeps_its_reservation_choice_resource_and_templates(
    api_client: APIClient, registry_person: Any
) -> None:
    registry_person("01017012345", mobile="+4799315000", email="ola@example.no")
    recipient = person(
        "01017012345",
        "SmsPreferred",
        ignoreReservation=True,
        resourceId="urn:altinn:resource:example-service",
        resourceAction="read",
    )
    recipient["recipientPerson"]["smsSettings"] = {"sender": "  Etaten ", "body": "Hei $recipientName$"}
    recipient["recipientPerson"]["emailSettings"] = {
        "subject": "Ny\r\nmelding",
        "body": "<p>Hei</p>",
        "contentType": "html",
        "senderEmailAddress": "etaten@example.no",
    }

    response = post_future(api_client, "/orders", chain(recipient))

    assert response.status_code == 201, response.content
    order = Order.objects.get(id=response.json()["notification"]["shipmentId"])
    assert (order.ignore_reservation, order.resource_id, order.resource_action) == (
        True,
        "urn:altinn:resource:example-service",
        "read",
    )
    assert order.sms_template is not None
    assert order.email_template is not None
    assert order.sms_template.sender_number == "Etaten"
    assert (order.email_template.subject, order.email_template.content_type) == ("Ny melding", "Html")
    assert order.email_template.from_address == "etaten@example.no"
    assert list(order.recipients.values_list("national_identity_number", flat=True)) == ["01017012345"]


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("æøåÆØÅ" * 26 + "æøåÆ", 1),  # 160 GSM-7 characters: Norwegian letters are in the basic table
        ("€" * 80, 1),  # extension characters count twice: 160 septets
        ("€" * 81, 2),
        ("Hei 👋" + "a" * 64, 1),  # UCS-2: the emoji is two units, 70 in all
        ("Hei 👋" + "a" * 65, 2),
    ],
)
def test_the_receipt_counts_the_sms_parts(api_client: APIClient, text: str, parts: int) -> None:
    response = post_future(api_client, "/orders", chain(sms_recipient(body=text)))

    assert response.json()["notification"]["smsPartCount"] == parts


def test_an_email_shipment_has_no_part_count(api_client: APIClient) -> None:
    response = post_future(api_client, "/orders", chain(email_recipient()))

    assert "smsPartCount" not in response.json()["notification"]


# --- Idempotency -------------------------------------------------------------------------------------


def test_a_repeat_with_the_same_idempotency_id_returns_the_original_receipt_with_200_whatever_the_body(
    api_client: APIClient,
) -> None:
    first = post_future(api_client, "/orders", chain(idempotencyId="case-4711-first"))
    again = post_future(
        api_client,
        "/orders",
        chain(email_recipient(), idempotencyId="case-4711-first", sendersReference="new"),
    )

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert again["Location"] == first["Location"]
    assert Order.objects.count() == 1


def test_idempotency_ids_are_per_creator(api_client: APIClient, other_client: APIClient) -> None:
    first = post_future(api_client, "/orders", chain(idempotencyId="shared"))
    other = post_future(other_client, "/orders", chain(idempotencyId="shared"))

    assert (first.status_code, other.status_code) == (201, 201)
    assert first.json()["notificationOrderId"] != other.json()["notificationOrderId"]


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_duplicate_gets_the_receipt_of_the_request_that_committed_first(
    api_client: APIClient,
) -> None:
    """The duplicate's insert waits on the unique index until the first commits, then replays it."""
    receipt = {"notificationOrderId": str(uuid.uuid4()), "notification": {"shipmentId": str(uuid.uuid4())}}
    first = connections.create_connection("default")
    answers: list[Any] = []
    try:
        with first.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute(
                f"INSERT INTO {OrderChain._meta.db_table} "
                "(id, creator, idempotency_id, type, request, receipt, created_at) "
                "VALUES (%s, 'ttd', 'race', 'Notification', '{}', %s, now())",
                [receipt["notificationOrderId"], json.dumps(receipt)],
            )

            def post_duplicate() -> None:
                try:
                    answers.append(post_future(api_client, "/orders", chain(idempotencyId="race")))
                finally:
                    connections.close_all()  # this thread's own connection

            duplicate = threading.Thread(target=post_duplicate)
            duplicate.start()
            _wait_for_lock_wait()
            cursor.execute("COMMIT")
        duplicate.join(timeout=30)
    finally:
        first.close()
        connections.close_all()

    (response,) = answers
    assert response.status_code == 200
    assert response.json() == receipt
    assert not Order.objects.exists()


def _wait_for_lock_wait() -> None:
    """Until another session is waiting for a lock (the duplicate's insert on the unique index)."""
    connection = connections.create_connection("default")
    try:
        with connection.cursor() as probe:
            for _ in range(2000):
                probe.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                if probe.fetchone()[0]:
                    return
                threading.Event().wait(0.005)
    finally:
        connection.close()
    raise AssertionError("the duplicate never waited for the first request's transaction")


# --- Contact information -----------------------------------------------------------------------------


def test_a_person_without_contact_information_is_a_422_problem_and_nothing_is_stored(
    api_client: APIClient, registry_person: Any
) -> None:
    registry_person("01017012345", email="ola@example.no")  # an email address, no mobile number

    response = post_future(api_client, "/orders", chain(person("01017012345", "Sms")))

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json() == {
        "type": "urn:altinn:error:NOT-00001",
        "title": "Missing contact information for recipient(s)",
        "status": 422,
        "code": "NOT-00001",
        "detail": "No contact information was found for the recipient(s) listed under errors.",
        "errors": {
            "recipient.recipientPerson.nationalIdentityNumber": [
                "No contact information was found for this recipient for the chosen channel."
            ]
        },
    }
    assert not Order.objects.exists()
    assert not OrderChain.objects.exists()


def test_a_reminder_recipient_without_contact_information_fails_the_whole_chain(
    api_client: APIClient, registry_person: Any, registry_organization: Any
) -> None:
    registry_person("01017012345", email="ola@example.no")
    registry_organization("987654321")  # no addresses at all
    body = chain(
        person("01017012345"),
        reminders=[
            {"delayDays": 1, "recipient": person("01017012345")},
            {"delayDays": 2, "recipient": organization("987654321", "SmsPreferred")},
        ],
    )

    response = post_future(api_client, "/orders", body)

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["reminders[1].recipient.recipientOrganization.orgNumber"]
    assert not Order.objects.exists()


def test_an_unknown_person_is_missing_contact_information(api_client: APIClient) -> None:
    response = post_future(api_client, "/orders", chain(person("01017012345")))

    assert response.status_code == 422


def test_a_reserved_person_is_accepted_and_marked_reserved(
    api_client: APIClient, registry_person: Any
) -> None:
    registry_person("01017012345", email="ola@example.no", reserved=True)

    response = post_future(api_client, "/orders", chain(person("01017012345")))

    assert response.status_code == 201
    order = Order.objects.get(id=response.json()["notification"]["shipmentId"])
    assert order.recipients.get().is_reserved is True


def test_a_registry_outage_is_a_503_problem_and_nothing_is_stored(
    api_client: APIClient, settings: Any
) -> None:
    settings.NOTIFICATIONS_REGISTRY_BACKEND = "http"
    settings.NOTIFICATIONS_REGISTRY_URL = "http://127.0.0.1:9/"  # the discard port: refused
    settings.NOTIFICATIONS_REGISTRY_TIMEOUT_SECONDS = 1

    response = post_future(api_client, "/orders", chain(person("01017012345")))

    assert response.status_code == 503
    assert response.json()["code"] == "NOT-00004"
    assert response["Retry-After"] == "5"
    assert not OrderChain.objects.exists()
    # Recipients given by address need no registry: still accepted during the outage.
    assert post_future(api_client, "/orders", chain()).status_code == 201


# --- Validation --------------------------------------------------------------------------------------


def _without(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != key}


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (_without(chain(), "recipient"), {"recipient": ["This field is required."]}),
        (chain(idempotencyId=""), {"idempotencyId": ["IdempotencyId cannot be null or empty."]}),
        (_without(chain(), "idempotencyId"), {"idempotencyId": ["IdempotencyId cannot be null or empty."]}),
        (
            chain(requestedSendTime="2020-01-01T00:00:00Z"),
            {"requestedSendTime": ["RequestedSendTime must be greater than or equal to now."]},
        ),
        (
            chain(requestedSendTime="2030-01-01T00:00:00"),
            {"requestedSendTime": ["The requested send time value must have specified a time zone."]},
        ),
        (
            chain(conditionEndpoint="ftp://example.no/x"),
            {"conditionEndpoint": ["ConditionEndpoint must use http or https scheme."]},
        ),
        (
            chain(conditionEndpoint="/relative"),
            {"conditionEndpoint": ["ConditionEndpoint must be a valid absolute URI or null."]},
        ),
        (chain({}), {"recipient": ["Must have exactly one recipient."]}),
        (
            chain({**sms_recipient(), **email_recipient()}),
            {"recipient": ["Must have exactly one recipient."]},
        ),
        (
            chain(sms_recipient("+4712345678")),
            {"recipient.recipientSms.phoneNumber": ["Recipient phone number is not a valid mobile number."]},
        ),
        (
            chain(sms_recipient("")),
            {"recipient.recipientSms.phoneNumber": ["Recipient phone number cannot be null or empty."]},
        ),
        (
            chain(sms_recipient(body="")),
            {"recipient.recipientSms.smsSettings.body": ["SMS body cannot be null or empty."]},
        ),
        (
            chain(sms_recipient(sendingTimePolicy="Sometimes")),
            {
                "recipient.recipientSms.smsSettings.sendingTimePolicy": [
                    "SMS only supports send time daytime and anytime"
                ]
            },
        ),
        (
            chain(email_recipient("not-an-address")),
            {"recipient.recipientEmail.emailAddress": ["Invalid email address format."]},
        ),
        (
            chain(
                {
                    "recipientEmail": {
                        "emailAddress": "a@example.no",
                        "emailSettings": {"subject": "", "body": ""},
                    }
                }
            ),
            {
                "recipient.recipientEmail.emailSettings.subject": ["The email subject cannot be empty."],
                "recipient.recipientEmail.emailSettings.body": ["The email body cannot be empty."],
            },
        ),
        (
            chain(
                {
                    "recipientEmail": {
                        "emailAddress": "a@example.no",
                        "emailSettings": {
                            **EMAIL_SETTINGS,
                            "senderEmailAddress": "",
                            "contentType": "Markdown",
                            "sendingTimePolicy": "Daytime",
                        },
                    }
                }
            ),
            {
                "recipient.recipientEmail.emailSettings.senderEmailAddress": [
                    "The sender email address is not valid."
                ],
                "recipient.recipientEmail.emailSettings.contentType": [
                    "Email content type must be either Plain or HTML."
                ],
                "recipient.recipientEmail.emailSettings.sendingTimePolicy": [
                    "Email only supports send time anytime"
                ],
            },
        ),
        (
            chain(
                {"recipientPerson": {"nationalIdentityNumber": "0101701234", "channelSchema": "EmailAndSms"}}
            ),
            {
                "recipient.recipientPerson.nationalIdentityNumber": [
                    "National identity number must be 11 digits long."
                ],
                "recipient.recipientPerson.emailSettings": [
                    "EmailSettings/SmsSettings must be set when ChannelSchema is EmailAndSms"
                ],
                "recipient.recipientPerson.smsSettings": [
                    "EmailSettings/SmsSettings must be set when ChannelSchema is EmailAndSms"
                ],
            },
        ),
        (
            chain({"recipientPerson": {"nationalIdentityNumber": "01017012345", "channelSchema": "Email"}}),
            {
                "recipient.recipientPerson.emailSettings": [
                    "EmailSettings must be set when ChannelSchema is Email"
                ]
            },
        ),
        (
            chain({"recipientOrganization": {"orgNumber": "987654321", "channelSchema": "SmsPreferred"}}),
            {
                "recipient.recipientOrganization.emailSettings": [PREFERRED],
                "recipient.recipientOrganization.smsSettings": [PREFERRED],
            },
        ),
        (
            chain(person("01017012345", "Letter")),
            {"recipient.recipientPerson.channelSchema": ["Invalid channel scheme value."]},
        ),
        (
            chain(organization("", "Sms")),
            {"recipient.recipientOrganization.orgNumber": ["OrgNumber cannot be null or empty."]},
        ),
        (
            chain(organization("98765432", "Sms")),
            {"recipient.recipientOrganization.orgNumber": ["Organization number must be 9 digits long."]},
        ),
        (
            chain(person("01017012345", resourceId="urn:altinn:resource:")),
            {"recipient.recipientPerson.resourceId": ["ResourceId must have a valid syntax."]},
        ),
        (
            chain(person("01017012345", resourceId="example-service")),
            {"recipient.recipientPerson.resourceId": ["ResourceId must have a valid syntax."]},
        ),
        (
            chain(person("01017012345", resourceAction="read")),
            {
                "recipient.recipientPerson.resourceAction": [
                    "ResourceAction cannot be specified without a ResourceId."
                ]
            },
        ),
        (
            chain({"recipientExternalIdentity": {"externalIdentity": "urn:altinn:username:ola"}}),
            {"recipient.recipientExternalIdentity.channelSchema": ["This field is required."]},
        ),
        (
            chain(reminders=[{"recipient": sms_recipient()}]),
            {"reminders[0]": ["Either DelayDays or RequestedSendTime must be defined, but not both."]},
        ),
        (
            chain(
                reminders=[{"delayDays": 1, "requestedSendTime": later(days=2), "recipient": sms_recipient()}]
            ),
            {"reminders[0]": ["Either DelayDays or RequestedSendTime must be defined, but not both."]},
        ),
        (
            chain(reminders=[{"delayDays": 0, "recipient": sms_recipient()}]),
            {"reminders[0].delayDays": ["DelayDays must be greater than or equal to 1 day."]},
        ),
        (
            chain(reminders=[{"requestedSendTime": "2020-01-01T00:00:00Z", "recipient": sms_recipient()}]),
            {
                "reminders[0].requestedSendTime": [
                    "RequestedSendTime must be greater than or equal to the current UTC time."
                ]
            },
        ),
        (
            chain(reminders=[{"delayDays": 1, "recipient": sms_recipient("+47")}]),
            {
                "reminders[0].recipient.recipientSms.phoneNumber": [
                    "Recipient phone number is not a valid mobile number."
                ]
            },
        ),
    ],
)
def test_an_invalid_chain_is_a_400_with_every_error_under_its_json_path(
    api_client: APIClient, body: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    response = post_future(api_client, "/orders", body)

    assert response.status_code == 400, response.content
    assert response.json()["errors"] == errors
    assert not OrderChain.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("idempotencyId", 42),
        ("sendersReference", ["a"]),
        ("requestedSendTime", 1700000000),
        ("reminders", {"delayDays": 1}),
    ],
)
def test_wrong_json_types_are_refused_not_coerced(api_client: APIClient, field: str, value: Any) -> None:
    response = post_future(api_client, "/orders", chain(**{field: value}))

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_delay_days_must_be_a_json_integer(api_client: APIClient) -> None:
    response = post_future(
        api_client, "/orders", chain(reminders=[{"delayDays": "3", "recipient": sms_recipient()}])
    )

    assert response.json()["errors"]["reminders[0].delayDays"] == ["Must be a whole number."]


@pytest.mark.parametrize(("value", "stored"), [("anytime", "Anytime"), (1, "Anytime"), (2, "Daytime")])
def test_enums_are_read_by_name_in_any_case_or_by_number(
    api_client: APIClient, value: Any, stored: str
) -> None:
    response = post_future(api_client, "/orders", chain(sms_recipient(sendingTimePolicy=value)))

    assert response.status_code == 201, response.content
    assert Order.objects.get(id=response.json()["notification"]["shipmentId"]).sending_time_policy == stored


def test_v2_condition_endpoints_may_name_localhost_and_ip_addresses(api_client: APIClient) -> None:
    response = post_future(api_client, "/orders", chain(conditionEndpoint="http://127.0.0.1:8080/check?id=1"))

    assert response.status_code == 201


def test_a_body_that_is_not_json_is_a_415(api_client: APIClient) -> None:
    response = api_client.generic("POST", f"{FUTURE}/orders", "idempotencyId=1", content_type="text/plain")

    assert response.status_code == 415


def test_a_caller_without_a_creator_gets_403_and_nothing_is_stored(make_token: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(org=None)}")

    response = post_future(client, "/orders", chain())

    assert response.status_code == 403
    assert not OrderChain.objects.exists()


# --- GET /future/orders/chain/{id} -------------------------------------------------------------------


def test_a_chain_reads_back_with_the_status_of_every_shipment(api_client: APIClient) -> None:
    main_time = timezone.now() + timedelta(hours=1)
    receipt = post_future(
        api_client,
        "/orders",
        chain(
            idempotencyId="read-back",
            sendersReference="ref",
            requestedSendTime=main_time.isoformat(),
            reminders=[
                {"delayDays": 2, "recipient": email_recipient()},
                {"delayDays": 1, "recipient": sms_recipient()},
            ],
        ),
    ).json()

    response = api_client.get(f"{FUTURE}/orders/chain/{receipt['notificationOrderId']}")

    assert response.status_code == 200
    body = response.json()
    assert (body["notificationOrderId"], body["type"], body["idempotencyId"]) == (
        receipt["notificationOrderId"],
        "Notification",
        "read-back",
    )
    notification = body["notification"]
    assert notification["shipmentId"] == receipt["notification"]["shipmentId"]
    assert (notification["type"], notification["status"], notification["sendersReference"]) == (
        "Notification",
        "Order_Registered",
        "ref",
    )
    assert notification["smsPartCount"] == 1
    # The reminders in the request's order, whatever their send times.
    assert [r["shipmentId"] for r in notification["reminders"]] == [
        r["shipmentId"] for r in receipt["notification"]["reminders"]
    ]
    assert [r["type"] for r in notification["reminders"]] == ["Reminder", "Reminder"]
    assert "smsPartCount" not in notification["reminders"][0]


def test_the_reference_location_without_future_is_served_too(api_client: APIClient) -> None:
    chain_id = post_future(api_client, "/orders", chain()).json()["notificationOrderId"]

    response = api_client.get(f"/notifications/api/v1/orders/chain/{chain_id}")

    assert response.status_code == 200
    assert response.json()["notificationOrderId"] == chain_id


def test_another_creators_chain_is_not_found(api_client: APIClient, other_client: APIClient) -> None:
    chain_id = post_future(api_client, "/orders", chain()).json()["notificationOrderId"]

    response = other_client.get(f"{FUTURE}/orders/chain/{chain_id}")

    assert response.status_code == 404
    assert response.json()["title"] == "Order chain not found"
    assert other_client.get(f"{FUTURE}/orders/chain/{uuid.uuid4()}").status_code == 404


def test_a_chain_id_that_is_not_a_uuid_is_a_400(api_client: APIClient) -> None:
    response = api_client.get(f"{FUTURE}/orders/chain/not-a-uuid")

    assert response.status_code == 400
    assert response.json()["errors"] == {"id": ["The id must be a UUID."]}


def test_a_shipment_of_a_chain_reads_on_the_v1_endpoints_too(api_client: APIClient) -> None:
    shipment_id = post_future(api_client, "/orders", chain()).json()["notification"]["shipmentId"]

    response = api_client.get(f"/notifications/api/v1/orders/{shipment_id}")

    assert response.status_code == 200
    assert response.json()["recipients"] == [{"mobileNumber": "+4799999999"}]


def test_characters_postgresql_cannot_store_in_a_field_nobody_reads_are_a_400(
    api_client: APIClient,
) -> None:
    """A NUL or a lone surrogate is refused wherever it is, naming the field; nothing is stored."""
    body = '{"idempotencyId": "kept", "extra": {"note": "a\\u0000b\\ud800"}, "recipient": %s}'
    response = api_client.generic(
        "POST", f"{FUTURE}/orders", body % json.dumps(sms_recipient()), content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "extra.note": ["Must not contain NUL characters or unpaired UTF-16 surrogates."]
    }
    assert not OrderChain.objects.exists()


@pytest.mark.parametrize("text", ["a\\u0000b", "\\ud800"])
def test_such_characters_in_fields_that_are_read_are_a_400(api_client: APIClient, text: str) -> None:
    body = (
        f'{{"idempotencyId": "x", "sendersReference": "{text}", "recipient": {json.dumps(sms_recipient())}}}'
    )

    response = api_client.generic("POST", f"{FUTURE}/orders", body, content_type="application/json")

    assert response.status_code == 400
    assert "sendersReference" in response.json()["errors"]


def test_a_chains_request_is_emptied_once_all_its_orders_are_past_the_retention(
    api_client: APIClient, settings: Any
) -> None:
    settings.NOTIFICATIONS_RETENTION_DAYS = 30
    done = post_future(api_client, "/orders", chain()).json()["notificationOrderId"]
    waiting = post_future(
        api_client, "/orders", chain(reminders=[{"delayDays": 60, "recipient": sms_recipient()}])
    ).json()["notificationOrderId"]
    recent = post_future(api_client, "/orders", chain()).json()["notificationOrderId"]
    # Every main notification completed; only the one of "recent" recently.
    Order.objects.filter(type="Notification").update(status=OrderStatus.COMPLETED)

    with time_machine.travel(timezone.now() + timedelta(days=31)):
        Order.objects.filter(chain_id=recent).update(status_changed_at=timezone.now())
        assert order_chain_requests_purge() == 1

    requests = dict(OrderChain.objects.values_list("id", "request"))
    assert requests[uuid.UUID(done)] == {}
    assert requests[uuid.UUID(waiting)] != {}  # its reminder is still to be sent
    assert requests[uuid.UUID(recent)] != {}  # final, but not for long enough
    # The receipt stays: a repeat still gets it.
    assert OrderChain.objects.get(id=done).receipt["notificationOrderId"] == done
