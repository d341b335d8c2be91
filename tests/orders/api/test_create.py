"""POST /orders/sms, /orders/email and /orders: what is stored, and every validation rule with its message
under the JSON path of its field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from orders import validation
from orders.api.fields import MSG_NOT_A_STRING
from orders.api.future.serializers.fields import MSG_PHONE_INVALID
from orders.api.output import NotificationOrderRequestResponseSerializer
from orders.models import NotificationChannel, Order, OrderStatus, Recipient, SendingTimePolicy
from orders.services import LookupStatus, OrderReceipt, RecipientLookup
from templates.warnings import ContentWarning
from tests.orders.api.conftest import post_json

pytestmark = pytest.mark.django_db

# A send time ahead, and within NOTIFICATIONS_MAX_SEND_AHEAD_DAYS, whenever the tests run.
NEXT_YEAR = timezone.now().year + 1


def sms_order(**fields: Any) -> dict[str, Any]:
    return {"body": "Hello", "recipients": [{"mobileNumber": "+4799999999"}], **fields}


def email_order(**fields: Any) -> dict[str, Any]:
    return {"subject": "Subject", "body": "Body", "recipients": [{"emailAddress": "a@example.com"}], **fields}


def generic_order(channel: Any = "Email", **fields: Any) -> dict[str, Any]:
    return {
        "notificationChannel": channel,
        "recipients": [{"emailAddress": "a@example.com", "mobileNumber": "+4799999999"}],
        "emailTemplate": {"subject": "Subject", "body": "Body"},
        "smsTemplate": {"body": "Text"},
        **fields,
    }


def errors_of(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "https://tools.ietf.org/html/rfc9110#section-15.5.1"
    assert problem["title"] == "One or more validation errors occurred."
    assert problem["status"] == 400
    return dict(problem["errors"])


# --- What is stored --------------------------------------------------------------------------------


def test_sms_order_is_registered_with_defaults(api_client: APIClient) -> None:
    response = post_json(api_client, "/orders/sms", sms_order())

    assert response.status_code == 202
    order = Order.objects.get(id=response.json()["orderId"])
    assert order.status == OrderStatus.REGISTERED
    assert order.notification_channel == NotificationChannel.SMS
    assert order.sending_time_policy == SendingTimePolicy.DAYTIME
    assert order.sms_template is not None
    assert order.sms_template.sender_number == "Altinn"
    assert order.sms_template.body == "Hello"
    assert order.email_template is None
    assert "recipientLookup" not in response.json()


def test_email_order_uses_the_configured_sender_and_plain_content(
    api_client: APIClient, settings: Any
) -> None:
    settings.NOTIFICATIONS_DEFAULT_EMAIL_FROM = "noreply@etaten.no"

    response = post_json(api_client, "/orders/email", email_order())

    assert response.status_code == 202
    order = Order.objects.get(id=response.json()["orderId"])
    assert order.notification_channel == NotificationChannel.EMAIL
    assert order.sending_time_policy == SendingTimePolicy.ANYTIME
    assert order.email_template is not None
    assert order.email_template.from_address == "noreply@etaten.no"
    assert order.email_template.content_type == "Plain"


def test_generic_order_keeps_the_clients_sender_address_and_number(api_client: APIClient) -> None:
    body = generic_order(
        "EmailPreferred",
        emailTemplate={"fromAddress": "post@etaten.no", "subject": "S", "body": "B", "contentType": "html"},
        smsTemplate={"senderNumber": "Etaten", "body": "T"},
    )

    response = post_json(api_client, "/orders", body)

    assert response.status_code == 202
    order = Order.objects.get(id=response.json()["orderId"])
    assert order.email_template is not None
    assert order.email_template.from_address == "post@etaten.no"
    assert order.email_template.content_type == "Html"
    assert order.sms_template is not None
    assert order.sms_template.sender_number == "Etaten"


def test_order_fields_are_stored_as_sent(api_client: APIClient) -> None:
    body = sms_order(
        sendersReference="case-4711",
        requestedSendTime=f"{NEXT_YEAR}-01-15T08:00:00+01:00",
        conditionEndpoint="https://service.example.no/api/should-notify?id=4711",
        ignoreReservation=True,
        resourceId="urn:altinn:resource:example",
        resourceAction="read",
        recipients=[{"mobileNumber": "0047 987 65 432"}, {"nationalIdentityNumber": "11876995923"}],
    )

    response = post_json(api_client, "/orders/sms", body)

    assert response.status_code == 202
    order = Order.objects.get(id=response.json()["orderId"])
    assert order.senders_reference == "case-4711"
    assert order.requested_send_time == datetime(NEXT_YEAR, 1, 15, 7, 0, tzinfo=UTC)
    assert order.condition_endpoint == "https://service.example.no/api/should-notify?id=4711"
    assert order.ignore_reservation is True
    assert order.resource_id == "urn:altinn:resource:example"
    assert order.resource_action == "read"
    # Mobile numbers from a request are stored exactly as typed, as the reference does.
    assert list(order.recipients.order_by("position").values_list("mobile_number", flat=True)) == [
        "0047 987 65 432",
        None,
    ]


def test_email_subject_newlines_are_folded_and_the_body_is_untouched(api_client: APIClient) -> None:
    response = post_json(
        api_client, "/orders/email", email_order(subject="One\r\nTwo\nThree\rFour", body="a\nb")
    )

    assert response.status_code == 202
    order = Order.objects.get(id=response.json()["orderId"])
    assert order.email_template is not None
    assert order.email_template.subject == "One Two Three Four"
    assert order.email_template.body == "a\nb"


def test_generic_email_template_subject_is_folded_too(api_client: APIClient) -> None:
    body = generic_order("Email", emailTemplate={"subject": "A\nB", "body": "C"})

    response = post_json(api_client, "/orders", body)

    order = Order.objects.get(id=response.json()["orderId"])
    assert order.email_template is not None
    assert order.email_template.subject == "A B"


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("Email", "Email"),
        ("sms", "Sms"),
        ("EMAILPREFERRED", "EmailPreferred"),
        (3, "SmsPreferred"),
        (4, "EmailAndSms"),
    ],
)
def test_notification_channel_is_read_case_insensitively_or_as_its_number(
    api_client: APIClient, sent: Any, stored: str
) -> None:
    response = post_json(api_client, "/orders", generic_order(sent))

    assert response.status_code == 202
    assert Order.objects.get(id=response.json()["orderId"]).notification_channel == stored


@pytest.mark.parametrize(
    ("sent", "stored"), [("html", "Html"), ("PLAIN", "Plain"), (1, "Html"), (None, "Plain")]
)
def test_content_type_is_read_case_insensitively_or_as_its_number(
    api_client: APIClient, sent: Any, stored: str
) -> None:
    response = post_json(api_client, "/orders/email", email_order(contentType=sent))

    assert response.status_code == 202
    order = Order.objects.get(id=response.json()["orderId"])
    assert order.email_template is not None
    assert order.email_template.content_type == stored


def test_receipt_has_the_location_of_the_order(api_client: APIClient, settings: Any) -> None:
    settings.NOTIFICATIONS_BASE_URI = "https://notifications.example.no"

    response = post_json(api_client, "/orders/sms", sms_order())

    order_id = response.json()["orderId"]
    assert response["Location"] == f"https://notifications.example.no/notifications/api/v1/orders/{order_id}"
    assert response.json() == {"orderId": order_id, "smsPartCount": 1}


def test_receipt_reports_the_recipient_lookup(
    api_client: APIClient, registry_person: Any, registry_organization: Any
) -> None:
    registry_person("11876995923", email="p@example.com")
    registry_organization("311000179", mobiles=("+4799999999",))

    response = post_json(
        api_client,
        "/orders/email",
        email_order(
            recipients=[{"nationalIdentityNumber": "11876995923"}, {"organizationNumber": "311000179"}]
        ),
    )

    assert response.status_code == 202
    assert response.json()["recipientLookup"] == {
        "status": "PartialSuccess",
        "isReserved": [],
        "missingContact": ["311000179"],
    }


def test_receipt_bytes_are_the_receipt_serializers_rendering(
    api_client: APIClient, registry_person: Any
) -> None:
    # The view renders the receipt's document itself; its bytes are what rendering the receipt's
    # serializer gave: the same keys in the same order, compact, non-ASCII text as it is.
    registry_person("11876995923", mobile="+4799999999")

    response = post_json(
        api_client,
        "/orders/sms",
        sms_order(
            body="Hei $recipientName$ ærlig’ " + "x" * 140,
            recipients=[{"nationalIdentityNumber": "11876995923"}, {"nationalIdentityNumber": "01017012345"}],
        ),
    )

    assert response.status_code == 202
    order = Order.objects.get(id=response.json()["orderId"])
    receipt = OrderReceipt(
        order=order,
        recipient_lookup=RecipientLookup(
            status=LookupStatus.PARTIAL_SUCCESS,
            is_reserved=[],
            missing_contact=["01017012345"],
            reservations={},
        ),
        warnings=[ContentWarning(**warning) for warning in response.json()["warnings"]],
    )
    assert response.content == JSONRenderer().render(NotificationOrderRequestResponseSerializer(receipt).data)
    assert list(response.json()) == ["orderId", "recipientLookup", "smsPartCount", "warnings"]


def test_order_whose_lookup_failed_entirely_is_still_registered(api_client: APIClient) -> None:
    response = post_json(
        api_client, "/orders/sms", sms_order(recipients=[{"nationalIdentityNumber": "11876995923"}])
    )

    assert response.status_code == 202
    assert response.json()["recipientLookup"]["status"] == "Failed"
    assert Order.objects.filter(id=response.json()["orderId"]).exists()


def test_due_order_is_handed_to_the_pipeline_after_commit(
    api_client: APIClient, published: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(api_client, "/orders/sms", sms_order())

    assert published == [("dispatch.order_process", [response.json()["orderId"]])]


def test_order_for_later_is_not_handed_to_the_pipeline_yet(
    api_client: APIClient, published: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    later = (timezone.now() + timedelta(days=1)).isoformat()

    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(api_client, "/orders/sms", sms_order(requestedSendTime=later))

    assert response.status_code == 202
    assert published == []


# --- Validation rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "/orders/sms",
            {"body": [validation.MSG_SMS_TEMPLATE_BODY_EMPTY], "recipients": [validation.MSG_NO_RECIPIENTS]},
        ),
        (
            "/orders/email",
            {
                "subject": [validation.MSG_EMAIL_SUBJECT_EMPTY],
                "body": [validation.MSG_EMAIL_BODY_EMPTY],
                "recipients": [validation.MSG_NO_RECIPIENTS],
            },
        ),
        (
            "/orders",
            {
                "notificationChannel": [validation.MSG_CHANNEL_REQUIRED],
                "recipients": [validation.MSG_NO_RECIPIENTS],
            },
        ),
    ],
)
def test_empty_body_lists_every_missing_field(api_client: APIClient, path: str, expected: dict) -> None:
    response = api_client.post(f"/notifications/api/v1{path}", data="", content_type="application/json")

    assert errors_of(response) == expected


@pytest.mark.parametrize("blank", ["", "   ", "\n\t", None])
def test_blank_sms_body_is_refused(api_client: APIClient, blank: Any) -> None:
    assert errors_of(post_json(api_client, "/orders/sms", sms_order(body=blank))) == {
        "body": [validation.MSG_SMS_TEMPLATE_BODY_EMPTY]
    }


@pytest.mark.parametrize("field", ["subject", "body"])
def test_blank_email_subject_or_body_is_refused(api_client: APIClient, field: str) -> None:
    message = validation.MSG_EMAIL_SUBJECT_EMPTY if field == "subject" else validation.MSG_EMAIL_BODY_EMPTY

    assert errors_of(post_json(api_client, "/orders/email", email_order(**{field: " "}))) == {
        field: [message]
    }


def test_empty_recipient_list_is_refused(api_client: APIClient) -> None:
    assert errors_of(post_json(api_client, "/orders/sms", sms_order(recipients=[]))) == {
        "recipients": [validation.MSG_NO_RECIPIENTS]
    }


def _iso(delta: timedelta, offset_hours: int = 0) -> str:
    zone = timezone.get_fixed_timezone(offset_hours * 60)
    return (timezone.now() + delta).astimezone(zone).isoformat()


BAD_TIME = "Must be an ISO-8601 date and time with an offset, e.g. 2030-01-15T08:00:00+01:00."


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        ("2099-01-15T09:00:00", validation.MSG_SEND_TIME_WITHOUT_ZONE),
        ("2099-01-15", validation.MSG_SEND_TIME_WITHOUT_ZONE),
        (lambda: _iso(-timedelta(minutes=6)), validation.MSG_SEND_TIME_PASSED),
        (lambda: _iso(-timedelta(minutes=6), offset_hours=2), validation.MSG_SEND_TIME_PASSED),
        ("tomorrow", BAD_TIME),
        ("2099-13-15T08:00:00Z", BAD_TIME),
        (4102444800, BAD_TIME),
        ("9999-12-31T23:00:00-05:00", BAD_TIME),
        ("0001-01-01T00:30:00+01:00", BAD_TIME),
        ("9999-12-31T23:59:59Z", validation.MSG_SEND_TIME_TOO_LATE.format(days=3650)),
        (lambda: _iso(timedelta(days=3651)), validation.MSG_SEND_TIME_TOO_LATE.format(days=3650)),
    ],
)
def test_requested_send_time_needs_an_offset_at_most_five_minutes_past_and_ten_years_ahead(
    api_client: APIClient, sent: Any, message: str
) -> None:
    value = sent() if callable(sent) else sent

    assert errors_of(post_json(api_client, "/orders/sms", sms_order(requestedSendTime=value))) == {
        "requestedSendTime": [message]
    }


@pytest.mark.parametrize(
    "sent",
    [
        lambda: _iso(-timedelta(minutes=4)),
        lambda: _iso(timedelta(hours=1), offset_hours=1),
        lambda: f"{NEXT_YEAR}-01-15T08:00:00.8367317Z",
        lambda: f"{NEXT_YEAR}-01-15 10:00:00+02:00",
        lambda: None,
    ],
)
def test_requested_send_time_within_the_tolerance_is_accepted(api_client: APIClient, sent: Any) -> None:
    response = post_json(api_client, "/orders/sms", sms_order(requestedSendTime=sent()))

    assert response.status_code == 202


@pytest.mark.parametrize(
    "url",
    ["http://localhost:5000/x", "https://127.0.0.1/x", "https://foobar/x", "urn:altinn:x", "ftp://vg.no/x"],
)
def test_condition_endpoint_must_be_a_public_http_url(api_client: APIClient, url: str) -> None:
    assert errors_of(post_json(api_client, "/orders/sms", sms_order(conditionEndpoint=url))) == {
        "conditionEndpoint": [validation.MSG_INVALID_CONDITION_ENDPOINT]
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"resourceAction": "read"}, validation.MSG_RESOURCE_ACTION_WITHOUT_RESOURCE),
        ({"resourceAction": "read", "resourceId": "  "}, validation.MSG_RESOURCE_ACTION_WITHOUT_RESOURCE),
        (
            {"resourceAction": "   ", "resourceId": "urn:altinn:resource:x"},
            validation.MSG_RESOURCE_ACTION_BLANK,
        ),
        ({"resourceAction": ""}, validation.MSG_RESOURCE_ACTION_BLANK),
    ],
)
def test_resource_action_rules(api_client: APIClient, fields: dict[str, str], message: str) -> None:
    assert errors_of(post_json(api_client, "/orders", generic_order(**fields))) == {
        "resourceAction": [message]
    }


@pytest.mark.parametrize(
    ("path", "recipient", "expected"),
    [
        (
            "/orders/sms",
            {"mobileNumber": "98765432"},
            {"recipients[0].mobileNumber": [validation.MSG_INVALID_MOBILE]},
        ),
        (
            "/orders/sms",
            {"mobileNumber": " +4799999999"},
            {"recipients[0].mobileNumber": [validation.MSG_INVALID_MOBILE]},
        ),
        (
            "/orders/sms",
            {"emailAddress": "a@example.com"},
            {"recipients[0]": [validation.MSG_NO_SMS_IDENTIFIER]},
        ),
        # v1 answers an invalid address with the recipient-level message, not v2's field message (§1.3.1).
        (
            "/orders/email",
            {"emailAddress": "a@localhost"},
            {"recipients[0]": [validation.MSG_NO_EMAIL_IDENTIFIER]},
        ),
        (
            "/orders/email",
            {"emailAddress": "one@example.com;two@example.com"},
            {"recipients[0]": [validation.MSG_NO_EMAIL_IDENTIFIER]},
        ),
        (
            "/orders/email",
            {"mobileNumber": "+4799999999"},
            {"recipients[0]": [validation.MSG_NO_EMAIL_IDENTIFIER]},
        ),
        ("/orders/email", {}, {"recipients[0]": [validation.MSG_NO_EMAIL_IDENTIFIER]}),
        (
            "/orders/email",
            {"nationalIdentityNumber": "1234"},
            {"recipients[0].nationalIdentityNumber": [validation.MSG_INVALID_NIN]},
        ),
        (
            "/orders/sms",
            {"organizationNumber": "12345678a"},
            {"recipients[0].organizationNumber": [validation.MSG_INVALID_ORGANIZATION_NUMBER]},
        ),
        (
            "/orders/sms",
            {"nationalIdentityNumber": "11876995923", "mobileNumber": "+4799999999"},
            {"recipients[0]": [validation.MSG_NIN_COMBINED]},
        ),
        (
            "/orders/email",
            {"organizationNumber": "311000179", "emailAddress": "a@example.com"},
            {"recipients[0]": [validation.MSG_ORGANIZATION_NUMBER_COMBINED]},
        ),
    ],
)
def test_recipient_rules_are_reported_under_the_recipients_json_path(
    api_client: APIClient, path: str, recipient: dict[str, str], expected: dict
) -> None:
    body = sms_order(recipients=[recipient]) if path == "/orders/sms" else email_order(recipients=[recipient])

    assert errors_of(post_json(api_client, path, body)) == expected


@pytest.mark.parametrize(
    ("path", "recipient", "v1_message"),
    [
        ("/orders/email", {"emailAddress": "user@example..com"}, validation.MSG_NO_EMAIL_IDENTIFIER),
        ("/orders/sms", {"mobileNumber": "40000001"}, validation.MSG_INVALID_MOBILE),
    ],
)
def test_v1_answers_an_invalid_address_with_its_own_message_not_v2s(
    api_client: APIClient, path: str, recipient: dict[str, str], v1_message: str
) -> None:
    body = sms_order(recipients=[recipient]) if path == "/orders/sms" else email_order(recipients=[recipient])

    messages = [m for ms in errors_of(post_json(api_client, path, body)).values() for m in ms]

    assert messages == [v1_message]
    assert validation.MSG_INVALID_EMAIL not in messages
    assert MSG_PHONE_INVALID not in messages


def test_every_invalid_recipient_is_reported_with_its_index(api_client: APIClient) -> None:
    recipients = [
        {"mobileNumber": "+4799999999"},
        {"mobileNumber": "12345678"},
        {"mobileNumber": "+4799999998"},
        {"nationalIdentityNumber": "1", "organizationNumber": "2"},
    ]

    errors = errors_of(post_json(api_client, "/orders/sms", sms_order(recipients=recipients, body="")))

    assert errors == {
        "body": [validation.MSG_SMS_TEMPLATE_BODY_EMPTY],
        "recipients[1].mobileNumber": [validation.MSG_INVALID_MOBILE],
        "recipients[3].nationalIdentityNumber": [validation.MSG_INVALID_NIN],
        "recipients[3].organizationNumber": [validation.MSG_INVALID_ORGANIZATION_NUMBER],
        "recipients[3]": [validation.MSG_NIN_COMBINED, validation.MSG_ORGANIZATION_NUMBER_COMBINED],
    }


@pytest.mark.parametrize(
    ("channel", "recipient", "valid"),
    [
        ("EmailPreferred", {"nationalIdentityNumber": "11876995923", "mobileNumber": "+4799999999"}, False),
        ("SmsPreferred", {"organizationNumber": "311000179", "emailAddress": "a@example.com"}, False),
        ("EmailPreferred", {"mobileNumber": "+4799999999"}, True),
        ("SmsPreferred", {"emailAddress": "a@example.com"}, True),
        ("Email", {"mobileNumber": "+4799999999"}, False),
        ("Sms", {"emailAddress": "a@example.com"}, False),
        ("EmailAndSms", {"emailAddress": "a@example.com"}, True),
        ("EmailAndSms", {}, False),
    ],
)
def test_generic_order_applies_the_recipient_rules_of_its_channel(
    api_client: APIClient, channel: str, recipient: dict[str, str], valid: bool
) -> None:
    response = post_json(api_client, "/orders", generic_order(channel, recipients=[recipient]))

    assert response.status_code == (202 if valid else 400)


@pytest.mark.parametrize(
    ("channel", "missing", "expected"),
    [
        ("Email", "emailTemplate", {"emailTemplate": [validation.MSG_EMAIL_TEMPLATE_REQUIRED]}),
        ("EmailPreferred", "emailTemplate", {"emailTemplate": [validation.MSG_EMAIL_TEMPLATE_REQUIRED]}),
        ("SmsPreferred", "emailTemplate", {"emailTemplate": [validation.MSG_EMAIL_TEMPLATE_REQUIRED]}),
        ("EmailAndSms", "emailTemplate", {"emailTemplate": [validation.MSG_EMAIL_TEMPLATE_REQUIRED]}),
        ("Sms", "smsTemplate", {"smsTemplate": [validation.MSG_SMS_TEMPLATE_REQUIRED]}),
        ("EmailPreferred", "smsTemplate", {"smsTemplate": [validation.MSG_SMS_TEMPLATE_REQUIRED]}),
        ("SmsPreferred", "smsTemplate", {"smsTemplate": [validation.MSG_SMS_TEMPLATE_REQUIRED]}),
        ("EmailAndSms", "smsTemplate", {"smsTemplate": [validation.MSG_SMS_TEMPLATE_REQUIRED]}),
        ("Sms", "emailTemplate", None),
        ("Email", "smsTemplate", None),
    ],
)
def test_generic_order_needs_the_templates_of_its_channel(
    api_client: APIClient, channel: str, missing: str, expected: dict | None
) -> None:
    body = generic_order(channel)
    del body[missing]

    response = post_json(api_client, "/orders", body)

    if expected is None:
        assert response.status_code == 202
    else:
        assert errors_of(response) == expected


def test_generic_order_template_fields_are_reported_under_their_path(api_client: APIClient) -> None:
    body = generic_order(
        "EmailPreferred", emailTemplate={"subject": "", "body": " "}, smsTemplate={"body": ""}
    )

    assert errors_of(post_json(api_client, "/orders", body)) == {
        "emailTemplate.subject": [validation.MSG_EMAIL_TEMPLATE_SUBJECT_EMPTY],
        "emailTemplate.body": [validation.MSG_EMAIL_TEMPLATE_BODY_EMPTY],
        "smsTemplate.body": [validation.MSG_SMS_TEMPLATE_BODY_EMPTY],
    }


def test_null_notification_channel_is_refused_with_the_reference_message(api_client: APIClient) -> None:
    assert errors_of(post_json(api_client, "/orders", generic_order(None))) == {
        "notificationChannel": [validation.MSG_CHANNEL_REQUIRED]
    }


@pytest.mark.parametrize("channel", ["Fax", 5, -1, True, 1.5])
def test_unknown_notification_channel_lists_the_valid_values(api_client: APIClient, channel: Any) -> None:
    errors = errors_of(post_json(api_client, "/orders", generic_order(channel)))

    assert list(errors) == ["notificationChannel"]
    assert errors["notificationChannel"][0].endswith(
        "is not a valid value. Valid values: Email, Sms, EmailPreferred, SmsPreferred, EmailAndSms."
    )


# --- Limits ----------------------------------------------------------------------------------------


def test_more_recipients_than_the_limit_are_refused(api_client: APIClient, settings: Any) -> None:
    settings.NOTIFICATIONS_MAX_RECIPIENTS_PER_ORDER = 3
    recipients = [{"mobileNumber": "+4799999999"}] * 4

    assert errors_of(post_json(api_client, "/orders/sms", sms_order(recipients=recipients))) == {
        "recipients": ["An order can have at most 3 recipients."]
    }


@pytest.mark.parametrize(
    ("path", "body", "setting", "field"),
    [
        ("/orders/sms", sms_order(body="x" * 11), "NOTIFICATIONS_MAX_SMS_BODY_CHARS", "body"),
        ("/orders/email", email_order(body="x" * 11), "NOTIFICATIONS_MAX_EMAIL_BODY_CHARS", "body"),
        ("/orders/email", email_order(subject="x" * 11), "NOTIFICATIONS_MAX_EMAIL_SUBJECT_CHARS", "subject"),
        (
            "/orders/sms",
            sms_order(sendersReference="x" * 11),
            "NOTIFICATIONS_MAX_SENDERS_REFERENCE_CHARS",
            "sendersReference",
        ),
        (
            "/orders",
            generic_order("Sms", smsTemplate={"body": "x" * 11}),
            "NOTIFICATIONS_MAX_SMS_BODY_CHARS",
            "smsTemplate.body",
        ),
        (
            "/orders",
            generic_order("Email", emailTemplate={"subject": "x" * 11, "body": "b"}),
            "NOTIFICATIONS_MAX_EMAIL_SUBJECT_CHARS",
            "emailTemplate.subject",
        ),
    ],
)
def test_texts_longer_than_their_configured_maximum_are_refused(
    api_client: APIClient, settings: Any, path: str, body: dict, setting: str, field: str
) -> None:
    setattr(settings, setting, 10)

    errors = errors_of(post_json(api_client, path, body))

    assert list(errors) == [field]
    assert "at most 10 characters" in errors[field][0]


def test_texts_at_their_maximum_are_accepted(api_client: APIClient, settings: Any) -> None:
    settings.NOTIFICATIONS_MAX_SMS_BODY_CHARS = 10

    assert post_json(api_client, "/orders/sms", sms_order(body="x" * 10)).status_code == 202


def test_default_limits_are_the_documented_ones(settings: Any) -> None:
    assert settings.NOTIFICATIONS_MAX_RECIPIENTS_PER_ORDER == 100_000
    assert settings.NOTIFICATIONS_MAX_SMS_BODY_CHARS == 1600
    assert settings.NOTIFICATIONS_MAX_EMAIL_BODY_CHARS == 262_144
    assert settings.NOTIFICATIONS_MAX_EMAIL_SUBJECT_CHARS == 998
    assert settings.NOTIFICATIONS_MAX_SENDERS_REFERENCE_CHARS == 500


def test_plain_norwegian_numbers_beside_invalid_ones_keep_the_reference_messages(
    api_client: APIClient,
) -> None:
    numbers = ["+4799999999", "+4799999", "+47 999 99 999", "004741234567", "+4742000000x", 4799999999]
    body = {"body": "Hello", "recipients": [{"mobileNumber": number} for number in numbers]}
    body["recipients"].append({"mobileNumber": "+4799999999", "organizationNumber": "311000179"})
    body["recipients"].append({"mobileNumber": "+4799999999", "emailAddress": "tab\there@x.no"})

    errors = errors_of(post_json(api_client, "/orders/sms", body))

    assert errors == {
        "recipients[1].mobileNumber": [validation.MSG_INVALID_MOBILE],
        "recipients[4].mobileNumber": [validation.MSG_INVALID_MOBILE],
        "recipients[5].mobileNumber": [MSG_NOT_A_STRING],
        "recipients[5]": [validation.MSG_NO_SMS_IDENTIFIER],
        "recipients[6]": [validation.MSG_ORGANIZATION_NUMBER_COMBINED],
    }


def test_an_order_of_plain_norwegian_numbers_stores_them_as_given(api_client: APIClient) -> None:
    numbers = [f"+4799{n:06d}" for n in range(300)] + ["004741234567", "+47 999 99 999"]
    body = {"body": "Hello", "recipients": [{"mobileNumber": number} for number in numbers]}

    response = post_json(api_client, "/orders/sms", body)

    assert response.status_code == 202
    stored = Recipient.objects.filter(order_id=response.json()["orderId"]).order_by("position")
    assert [r.mobile_number for r in stored] == numbers
    assert {(r.email_address, r.organization_number, r.is_reserved) for r in stored} == {(None, None, None)}
