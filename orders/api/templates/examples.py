"""OpenAPI examples of the stored-templates API."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

TEMPLATE_ID = "0b8f3c1e-5d6a-4f7b-9c2d-3e4f5a6b7c8d"

_SMS_TEMPLATE = {
    "id": TEMPLATE_ID,
    "type": "Sms",
    "name": "Tax return reminder",
    "version": 1,
    "currentVersion": 1,
    "body": "Hi $recipientName$, your tax return for ((year)) is due on ((dueDate)).",
    "senderNumber": "Skatteetat",
    "personalisationFields": ["year", "dueDate"],
    "created": "2030-01-15T08:00:00Z",
    "versionCreated": "2030-01-15T08:00:00Z",
}
_EMAIL_TEMPLATE = {
    "id": "6f1e2d3c-4b5a-4987-8a7b-6c5d4e3f2a1b",
    "type": "Email",
    "name": "Appointment confirmation",
    "version": 2,
    "currentVersion": 2,
    "subject": "Your appointment on ((date))",
    "body": "<p>Dear ((name)),</p><p>we look forward to seeing you on ((date)).</p>",
    "contentType": "Html",
    "fromAddress": "noreply@example.no",
    "personalisationFields": ["date", "name"],
    "created": "2030-01-15T08:00:00Z",
    "versionCreated": "2030-01-16T09:30:00Z",
}

TEMPLATE_REQUESTS = [
    OpenApiExample(
        "SMS template",
        summary="An SMS template with two personalisation fields and a recipient keyword",
        request_only=True,
        value={
            "type": "Sms",
            "name": "Tax return reminder",
            "body": "Hi $recipientName$, your tax return for ((year)) is due on ((dueDate)).",
            "senderNumber": "Skatteetat",
        },
    ),
    OpenApiExample(
        "Email template",
        summary="An HTML email template",
        request_only=True,
        value={
            "type": "Email",
            "name": "Appointment confirmation",
            "subject": "Your appointment on ((date))",
            "body": "<p>Dear ((name)),</p><p>we look forward to seeing you on ((date)).</p>",
            "contentType": "Html",
            "fromAddress": "noreply@example.no",
        },
    ),
]

TEMPLATES = [
    OpenApiExample("SMS template", response_only=True, value=_SMS_TEMPLATE),
    OpenApiExample("Email template", response_only=True, value=_EMAIL_TEMPLATE),
]

TEMPLATE_LIST = [
    OpenApiExample(
        "Two templates", response_only=True, value={"count": 2, "templates": [_EMAIL_TEMPLATE, _SMS_TEMPLATE]}
    )
]

VERSION_LIST = [
    OpenApiExample(
        "Two versions",
        response_only=True,
        value={
            "count": 2,
            "versions": [
                {**_EMAIL_TEMPLATE, "version": 1, "subject": "Appointment on ((date))"},
                _EMAIL_TEMPLATE,
            ],
        },
    )
]

VALIDATION_PROBLEMS = [
    OpenApiExample(
        "Missing subject",
        response_only=True,
        value={
            "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
            "title": "One or more validation errors occurred.",
            "status": 400,
            "errors": {"subject": ["An email template needs a subject."]},
        },
    )
]

NOT_FOUND = [
    OpenApiExample(
        "Not found",
        response_only=True,
        value={
            "type": "about:blank",
            "title": "Not Found",
            "status": 404,
            "detail": "No template with this id was found.",
        },
    )
]

PREVIEW_REQUESTS = [
    OpenApiExample(
        "Values",
        summary="One value missing, one not used",
        request_only=True,
        value={"personalisation": {"year": "2029", "caseNumber": "12345"}},
    )
]

PREVIEWS = [
    OpenApiExample(
        "SMS preview",
        response_only=True,
        value={
            "templateId": TEMPLATE_ID,
            "version": 1,
            "type": "Sms",
            "body": "Hi $recipientName$, your tax return for 2029 is due on ((dueDate)).",
            "sms": {"encoding": "GSM-7", "partCount": 1, "charactersLeft": 93},
            "missingPersonalisation": ["dueDate"],
            "unusedPersonalisation": ["caseNumber"],
        },
    ),
    OpenApiExample(
        "Email preview",
        response_only=True,
        value={
            "templateId": "6f1e2d3c-4b5a-4987-8a7b-6c5d4e3f2a1b",
            "version": 2,
            "type": "Email",
            "subject": "Your appointment on 1 March",
            "body": "<p>Dear Kari &lt;Nordmann&gt;,</p><p>we look forward to seeing you on 1 March.</p>",
            "contentType": "Html",
            "missingPersonalisation": [],
            "unusedPersonalisation": [],
        },
    ),
]
