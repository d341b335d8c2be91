"""OpenAPI examples, taken from the API contract documents of the service we replace."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

ORDER_ID = "f1a1cc30-197f-4f34-8304-006ce4945fd1"
ORDER_URL = f"https://platform.altinn.no/notifications/api/v1/orders/{ORDER_ID}"
_LINKS = {"self": ORDER_URL, "status": f"{ORDER_URL}/status"}

SMS_ORDER_REQUESTS = [
    OpenApiExample(
        "Three recipients",
        summary="A simple SMS to a mobile number, a person and an organization",
        request_only=True,
        value={
            "sendersReference": "ref-2024-01-01",
            "body": "A text message to be sent immediately from an org.",
            "recipients": [
                {"mobileNumber": "+4799999999"},
                {"nationalIdentityNumber": "11876995923"},
                {"organizationNumber": "311000179"},
            ],
        },
    ),
    OpenApiExample(
        "Keywords",
        summary="A customized SMS to an organization",
        request_only=True,
        value={
            "sendersReference": "ref-2024-02-01",
            "body": "Dear $recipientName$, this is an official notification regarding your organization, "
            "identified by the organization number $recipientNumber$. Please take the necessary actions.",
            "recipients": [{"organizationNumber": "311000179"}],
        },
    ),
    OpenApiExample(
        "Stored template",
        summary="An SMS from a stored template, with its personalisation",
        request_only=True,
        value={
            "templateId": "0b8f3c1e-5d6a-4f7b-9c2d-3e4f5a6b7c8d",
            "personalisation": {"year": "2029", "dueDate": "30 April"},
            "recipients": [{"organizationNumber": "311000179"}],
        },
    ),
]

EMAIL_ORDER_REQUESTS = [
    OpenApiExample(
        "One address",
        request_only=True,
        value={
            "sendersReference": "demo-2023-01",
            "subject": "A test email from Altinn Notifications",
            "body": "A message sent from an application owner through Altinn.",
            "contentType": "Plain",
            "recipients": [{"emailAddress": "testuser_1@altinn.no"}],
        },
    ),
]

GENERIC_ORDER_REQUESTS = [
    OpenApiExample(
        "Email preferred",
        summary="Email where the recipient has an address, SMS otherwise",
        request_only=True,
        value={
            "sendersReference": "case-4711",
            "requestedSendTime": "2030-01-15T08:00:00+01:00",
            "conditionEndpoint": "https://service.example.no/api/should-notify?id=4711",
            "statusCallbackUrl": "https://service.example.no/api/notification-status",
            "notificationChannel": "EmailPreferred",
            "ignoreReservation": False,
            "resourceId": "urn:altinn:resource:example-service",
            "recipients": [{"nationalIdentityNumber": "01017012345"}, {"organizationNumber": "987654321"}],
            "emailTemplate": {
                "subject": "Hei $recipientName$",
                "body": "<p>Ny melding</p>",
                "contentType": "Html",
            },
            "smsTemplate": {"senderNumber": "Etaten", "body": "Du har en ny melding i Altinn"},
        },
    ),
]

RECEIPTS = [
    OpenApiExample(
        "Lookup result",
        summary="Some recipients were looked up in the contact registry",
        response_only=True,
        status_codes=["202"],
        value={
            "orderId": ORDER_ID,
            "recipientLookup": {
                "status": "PartialSuccess",
                "isReserved": ["11876995923"],
                "missingContact": [],
            },
        },
    ),
    OpenApiExample(
        "No lookup",
        summary="Every recipient was given by address",
        response_only=True,
        status_codes=["202"],
        value={"orderId": ORDER_ID},
    ),
    OpenApiExample(
        "Content warnings",
        summary="Accepted, with warnings about the SMS text",
        response_only=True,
        status_codes=["202"],
        value={
            "orderId": ORDER_ID,
            "smsPartCount": 2,
            "warnings": [
                {
                    "code": "SmsUnicode",
                    "message": "1 character(s) outside GSM-7 (’) make the SMS UCS-2: 2 part(s) instead of 1 "
                    "without them.",
                    "field": "body",
                },
                {
                    "code": "KeywordNotSubstituted",
                    "message": "$recipientName$ stays as written for 1 recipient(s) given only by an "
                    "address.",
                    "field": "body",
                },
            ],
        },
    ),
]

VALIDATION_PROBLEMS = [
    OpenApiExample(
        "Validation problem",
        response_only=True,
        status_codes=["400"],
        value={
            "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
            "title": "One or more validation errors occurred.",
            "status": 400,
            "errors": {
                "body": ["The SMS template body must not be empty."],
                "recipients[0].mobileNumber": [
                    "Mobile number can contain only '+' and numeric characters, and it must adhere to the "
                    "E.164 standard."
                ],
            },
        },
    ),
]

_ORDER_BASE = {
    "id": ORDER_ID,
    "creator": "ttd",
    "requestedSendTime": "2023-12-12T14:13:27.836731Z",
    "created": "2023-12-12T14:13:27.845029Z",
}

ORDERS = [
    OpenApiExample(
        "Email to one address",
        response_only=True,
        status_codes=["200"],
        value={
            **_ORDER_BASE,
            "sendersReference": "demo-2023-01",
            "notificationChannel": "Email",
            "recipients": [{"emailAddress": "testuser_1@altinn.no"}],
            "emailTemplate": {
                "fromAddress": "noreply@altinn.no",
                "subject": "A test email from Altinn Notifications",
                "body": "A message sent from an application owner through Altinn.",
                "contentType": "Plain",
            },
            "links": _LINKS,
        },
    ),
    OpenApiExample(
        "SMS to one number",
        response_only=True,
        status_codes=["200"],
        value={
            **_ORDER_BASE,
            "sendersReference": "demo-2023-03",
            "notificationChannel": "Sms",
            "recipients": [{"mobileNumber": "+4799999999"}],
            "smsTemplate": {
                "senderNumber": "Altinn",
                "body": "A text message sent by a service owner through Altinn.",
            },
            "links": _LINKS,
        },
    ),
    OpenApiExample(
        "Customized SMS to an organization",
        response_only=True,
        status_codes=["200"],
        value={
            **_ORDER_BASE,
            "sendersReference": "demo-2023-04",
            "notificationChannel": "Sms",
            "recipients": [{"organizationNumber": "311000179"}],
            "smsTemplate": {
                "senderNumber": "Altinn",
                "body": "Dear $recipientName$, this is an official notification regarding your organization, "
                "identified by the organization number $recipientNumber$. Please take the necessary actions.",
            },
            "links": _LINKS,
        },
    ),
]

ORDER_STATUSES = [
    OpenApiExample(
        "Processed",
        response_only=True,
        status_codes=["200"],
        value={
            **_ORDER_BASE,
            "sendersReference": "ref-2023-12-01",
            "notificationChannel": "Email",
            "processingStatus": {
                "status": "Processed",
                "description": "Order processing is done. Notifications have been successfully generated.",
                "lastUpdate": "2023-12-12T14:14:01.112233Z",
            },
            "notificationsStatusSummary": {
                "email": {
                    "links": {"self": f"{ORDER_URL}/notifications/email"},
                    "generated": 1,
                    "succeeded": 0,
                }
            },
        },
    ),
]

EMAIL_NOTIFICATIONS = [
    OpenApiExample(
        "One email",
        response_only=True,
        status_codes=["200"],
        value={
            "orderId": ORDER_ID,
            "sendersReference": "ref-2023-12-01",
            "generated": 1,
            "succeeded": 0,
            "notifications": [
                {
                    "id": "e0197ec7-3d82-4917-8329-8c9ecc4c569b",
                    "succeeded": False,
                    "recipient": {"emailAddress": "recipient@domain.com"},
                    "sendStatus": {
                        "status": "New",
                        "description": (
                            "The email has been created, but has not been picked up for processing yet."
                        ),
                        "lastUpdate": "2023-11-14T16:06:02.877361Z",
                    },
                }
            ],
        },
    ),
]

SMS_NOTIFICATIONS = [
    OpenApiExample(
        "One SMS",
        response_only=True,
        status_codes=["200"],
        value={
            "orderId": ORDER_ID,
            "sendersReference": "ref-2023-12-01",
            "generated": 1,
            "succeeded": 0,
            "notifications": [
                {
                    "id": "e0197ec7-3d82-4917-8329-8c9ecc4c569b",
                    "succeeded": False,
                    "recipient": {"mobileNumber": "+4799999999"},
                    "sendStatus": {
                        "status": "New",
                        "description": (
                            "The SMS has been created, but has not been picked up for processing yet."
                        ),
                        "lastUpdate": "2023-11-14T16:06:02.877361Z",
                    },
                }
            ],
        },
    ),
]
