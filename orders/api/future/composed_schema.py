"""OpenAPI metadata of ``POST /future/orders/composed-email`` (``orders.api.future.composed``)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema

from core.openapi import access_problems, extend_schema_methods
from orders.api.future.output import OrderChainResponseSerializer
from orders.api.future.schema import BODY_ERRORS, LOCATION
from orders.api.future.serializers.composed import ComposedEmailOrderRequestSerializer

_FORBIDDEN = (
    "The token lacks the scope altinn:serviceowner/notifications.composedemail.create or the organisation "
    "claim; the create scope and platform access tokens do not allow composed emails."
)
_CHAIN_ID = "3b1f6a0e-5c2d-4e8f-9a7b-1c2d3e4f5a6b"
_ORDER_ID = "8d7c6b5a-4f3e-4d2c-8b1a-0f9e8d7c6b5a"

REQUESTS = [
    OpenApiExample(
        "Email with a PDF",
        summary="One email with a PDF fetched from a signed link when it is sent",
        request_only=True,
        value={
            "idempotencyId": "decision-2030-0042",
            "sendersReference": "decision-2030-0042",
            "requestedSendTime": "2030-01-15T07:00:00Z",
            "recipient": {
                "emailAddress": "recipient@example.no",
                "emailSettings": {
                    "senderEmailAddress": "noreply@etaten.no",
                    "subject": "Vedtak i saken din",
                    "body": "Vedtaket ligger vedlagt.",
                    "contentType": "Plain",
                    "attachments": [
                        {
                            "filename": "vedtak.pdf",
                            "mimeType": "application/pdf",
                            "url": "https://files.etaten.no/vedtak/42.pdf?se=2030-01-16T00%3A00%3A00Z&sig=...",
                        }
                    ],
                },
            },
        },
    ),
]
RECEIPTS = [
    OpenApiExample(
        "Receipt",
        response_only=True,
        value={
            "notificationOrderId": _CHAIN_ID,
            "notification": {"shipmentId": _ORDER_ID, "sendersReference": "decision-2030-0042"},
        },
    ),
]
INVALID = [
    OpenApiExample(
        "Attachment type not allowed",
        response_only=True,
        status_codes=["400"],
        value={
            "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
            "title": "One or more validation errors occurred.",
            "status": 400,
            "errors": {
                "recipient.emailSettings.attachments[0].mimeType": [
                    "Attachment 'page.html': mimeType is not supported."
                ]
            },
        },
    ),
]

composed_email_schema = extend_schema_methods(
    create=extend_schema(
        operation_id="future_orders_composed_email_create",
        summary="Register an email with attachments",
        description="Registers one email to one address with up to NOTIFICATIONS_ATTACHMENT_MAX_COUNT "
        "attachments. No contact lookup, no reminders, no keyword substitution. Each attachment is "
        "fetched from its `url` with GET when the email is sent (not now), so the link must work until "
        "then. If a file cannot be fetched for good (a 4xx answer such as an expired signature's 403, a "
        "host or type that is not allowed, the server naming another type), the email ends as "
        "`Failed_InvalidAttachment`; if a file or all of them together are over the size limits, as "
        "`Failed_PayloadTooLarge`. A 5xx, 408, 429 or timeout is retried like any transient failure.\n\n"
        "Repeating a request with the same `idempotencyId` returns the first receipt with 200, whatever "
        "the new body says (composed emails are their own idempotency namespace). Needs the scope "
        "`altinn:serviceowner/notifications.composedemail.create`; no other scope, and no platform access "
        "token, allows it, and this scope allows nothing else.\n\n"
        "Differences from the service this one replaces: the link is `url`, any https link on a host the "
        "operator allows (NOTIFICATIONS_ATTACHMENT_ALLOWED_HOSTS; any public host when unset), where the "
        "reference takes `sasUrl`, a signed link to its blob store, and checks its signature parameters "
        "and expiry; the fetch failure status is `Failed_InvalidAttachment` (the reference: "
        "`Failed_InvalidSasUrl`); the number of attachments and the length of a file name are limited.",
        tags=["Order chains"],
        request=ComposedEmailOrderRequestSerializer,
        examples=REQUESTS,
        parameters=[LOCATION],
        responses={
            201: OpenApiResponse(OrderChainResponseSerializer, "The email is registered.", examples=RECEIPTS),
            200: OpenApiResponse(
                OrderChainResponseSerializer, "An email with this idempotencyId exists: its original receipt."
            ),
            **{
                key: OpenApiResponse(value.response, value.description, examples=INVALID)
                if key[0] == 400
                else value
                for key, value in BODY_ERRORS.items()
            },
            **access_problems(forbidden=_FORBIDDEN),
        },
    ),
)
