"""OpenAPI examples of the future API, after the reference's illustrative bodies (§1.13)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

CHAIN_ID = "0f3c1a52-7d5b-4b8e-9a55-2f1c3b9d7e41"
MAIN_ID = "6a2d8b19-3c4e-4f5a-8b6c-7d8e9f0a1b2c"
REMINDER_ID = "c4d5e6f7-0819-4a2b-9c3d-4e5f60718293"

ORDER_CHAIN_REQUESTS = [
    OpenApiExample(
        "Person with a reminder",
        summary="SMS preferred to a person, and an email reminder after 7 days unless read",
        request_only=True,
        value={
            "idempotencyId": "case-4711-first",
            "sendersReference": "case-4711",
            "requestedSendTime": "2030-01-15T07:00:00Z",
            "dialogportenAssociation": {"dialogId": "0194...", "transmissionId": "0195..."},
            "recipient": {
                "recipientPerson": {
                    "nationalIdentityNumber": "01017012345",
                    "channelSchema": "SmsPreferred",
                    "ignoreReservation": False,
                    "resourceId": "urn:altinn:resource:example-service",
                    "smsSettings": {
                        "sender": "Etaten",
                        "body": "Du har en ny melding",
                        "sendingTimePolicy": "Daytime",
                    },
                    "emailSettings": {
                        "subject": "Ny melding",
                        "body": "Du har en ny melding",
                        "contentType": "Plain",
                    },
                }
            },
            "reminders": [
                {
                    "delayDays": 7,
                    "conditionEndpoint": "https://service.example.no/api/unread?id=4711",
                    "recipient": {
                        "recipientPerson": {
                            "nationalIdentityNumber": "01017012345",
                            "channelSchema": "Email",
                            "emailSettings": {"subject": "Påminnelse", "body": "Husk meldingen"},
                        }
                    },
                }
            ],
        },
    ),
    OpenApiExample(
        "SMS to a number",
        summary="One SMS to a mobile number, sent at any time of day",
        request_only=True,
        value={
            "idempotencyId": "order-2030-0001",
            "sendersReference": "order-2030-0001",
            "recipient": {
                "recipientSms": {
                    "phoneNumber": "+4799999999",
                    "smsSettings": {"body": "Pakken din er klar.", "sendingTimePolicy": "Anytime"},
                }
            },
        },
    ),
    OpenApiExample(
        "Organization by email",
        request_only=True,
        value={
            "idempotencyId": "org-notice-17",
            "recipient": {
                "recipientOrganization": {
                    "orgNumber": "987654321",
                    "channelSchema": "Email",
                    "emailSettings": {"subject": "Ny melding til $recipientName$", "body": "Se Altinn."},
                }
            },
        },
    ),
    OpenApiExample(
        "External identities",
        summary="SMS to a self-identified user (by username), an email reminder to an ID-porten email login",
        request_only=True,
        value={
            "idempotencyId": "si-notice-3",
            "recipient": {
                "recipientExternalIdentity": {
                    "externalIdentity": "urn:altinn:person:legacy-selfidentified:demo.selvidentifisert",
                    "channelSchema": "Sms",
                    "smsSettings": {"body": "Du har en ny melding i Altinn."},
                }
            },
            "reminders": [
                {
                    "delayDays": 3,
                    "recipient": {
                        "recipientExternalIdentity": {
                            "externalIdentity": "urn:altinn:person:idporten-email:ola@example.no",
                            "channelSchema": "Email",
                            "emailSettings": {"subject": "Påminnelse", "body": "Husk meldingen."},
                        }
                    },
                }
            ],
        },
    ),
]

ORDER_CHAIN_RECEIPTS = [
    OpenApiExample(
        "With a reminder",
        response_only=True,
        value={
            "notificationOrderId": CHAIN_ID,
            "notification": {
                "shipmentId": MAIN_ID,
                "sendersReference": "case-4711",
                "smsPartCount": 1,
                "reminders": [{"shipmentId": REMINDER_ID}],
            },
        },
    )
]

MISSING_CONTACT = [
    OpenApiExample(
        "No contact information",
        response_only=True,
        value={
            "type": "urn:altinn:error:NOT-00001",
            "title": "Missing contact information for recipient(s)",
            "status": 422,
            "code": "NOT-00001",
            "detail": "No contact information was found for the recipient(s) listed under errors.",
            "errors": {
                "reminders[0].recipient.recipientPerson.nationalIdentityNumber": [
                    "No contact information was found for this recipient for the chosen channel."
                ]
            },
        },
    )
]

INSTANT_SMS_REQUESTS = [
    OpenApiExample(
        "One-time code",
        request_only=True,
        value={
            "idempotencyId": "login-4f1e",
            "sendersReference": "login",
            "recipientSms": {
                "phoneNumber": "+4799999999",
                "timeToLiveInSeconds": 300,
                "smsSettings": {"sender": "Altinn", "body": "Engangskoden din er 482913."},
            },
        },
    )
]

INSTANT_EMAIL_REQUESTS = [
    OpenApiExample(
        "Confirmation",
        request_only=True,
        value={
            "idempotencyId": "confirm-9911",
            "recipientEmail": {
                "emailAddress": "ola.nordmann@example.no",
                "emailSettings": {
                    "subject": "Bekreft e-postadressen din",
                    "body": "<p>Koden din er <b>482913</b>.</p>",
                    "contentType": "Html",
                },
            },
        },
    )
]

INSTANT_RECEIPTS = [
    OpenApiExample(
        "Sent",
        response_only=True,
        value={
            "notificationOrderId": CHAIN_ID,
            "notification": {"shipmentId": MAIN_ID, "sendersReference": "login", "smsPartCount": 1},
        },
    )
]

PROVIDER_FAILED = [
    OpenApiExample(
        "Not sent",
        response_only=True,
        value={
            "type": "urn:altinn:error:NOT-00004",
            "title": "A temporary network failure occurred",
            "status": 503,
            "code": "NOT-00004",
            "detail": "The SMS could not be sent now (the provider did not answer); nothing was kept. Try "
            "again with the same idempotencyId.",
        },
    )
]

MANIFESTS = [
    OpenApiExample(
        "Completed",
        response_only=True,
        value={
            "shipmentId": MAIN_ID,
            "sendersReference": "case-4711",
            "type": "Notification",
            "status": "Order_Completed",
            "lastUpdate": "2030-01-15T07:00:09.120000Z",
            "recipients": [
                {
                    "type": "Email",
                    "destination": "post@demo.example.no",
                    "status": "Email_Delivered",
                    "lastUpdate": "2030-01-15T07:00:08.900000Z",
                },
                {
                    "type": "SMS",
                    "destination": "+4790000002",
                    "status": "SMS_Delivered",
                    "lastUpdate": "2030-01-15T07:00:09.120000Z",
                },
            ],
        },
    )
]

FEED = [
    OpenApiExample(
        "Two finished orders",
        response_only=True,
        value=[
            {
                "shipmentId": MAIN_ID,
                "sendersReference": "case-4711",
                "recipients": [
                    {
                        "destination": "+4799999999",
                        "status": "SMS_Delivered",
                        "lastUpdate": "2030-01-15T07:00:09.120000Z",
                    }
                ],
                "status": "Order_Completed",
                "lastUpdate": "2030-01-15T07:00:09.120000Z",
                "shipmentType": "Notification",
                "sequenceNumber": 41,
            },
            {
                "shipmentId": REMINDER_ID,
                "recipients": [],
                "status": "Order_SendConditionNotMet",
                "lastUpdate": "2030-01-22T07:00:01.500000Z",
                "shipmentType": "Reminder",
                "sequenceNumber": 42,
            },
        ],
    )
]
