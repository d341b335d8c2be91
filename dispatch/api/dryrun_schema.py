"""OpenAPI metadata of the dry runs (``dispatch.api.dryrun``): the answer's components, each operation's
id, summary and examples. The requests are the real endpoints' request components."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers

from core.openapi import (
    ProblemSerializer,
    ValidationProblemSerializer,
    access_problems,
    extend_schema_methods,
)
from core.problems import PROBLEM_CONTENT_TYPE
from orders.api import examples as v1_examples
from orders.api.future import examples as future_examples
from orders.api.future.output import AltinnProblemSerializer
from orders.api.future.serializers import (
    InstantEmailOrderRequestSerializer,
    InstantSmsOrderRequestSerializer,
    OrderChainRequestSerializer,
)
from orders.api.output import RecipientLookupResultSerializer
from orders.api.output.orders import WARNINGS_HELP, ContentWarningSerializer
from orders.api.serializers import (
    EmailNotificationOrderRequestSerializer,
    NotificationOrderRequestSerializer,
    SmsNotificationOrderRequestSerializer,
)

PROBLEM = PROBLEM_CONTENT_TYPE


class DryRunChannelCountsSerializer(serializers.Serializer[Any]):
    new = serializers.IntegerField(help_text="Notifications that would be sent.")
    failed = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Notifications that would be created already failed, by status "
        "(Failed_RecipientReserved, Failed_RecipientNotIdentified).",
    )


class DryRunSummarySerializer(serializers.Serializer[Any]):
    recipients = serializers.IntegerField()
    notifications = serializers.IntegerField(help_text="Every notification the order would generate.")
    email = DryRunChannelCountsSerializer()
    sms = DryRunChannelCountsSerializer()
    smsParts = serializers.IntegerField(
        help_text="SMS parts over every SMS sent, after keyword substitution."
    )


class DryRunNotificationSerializer(serializers.Serializer[Any]):
    channel = serializers.ChoiceField(["Email", "Sms"])
    recipientIndex = serializers.IntegerField(help_text="The recipient's index in the request.")
    status = serializers.CharField(help_text="New (would be sent) or the Failed_* status it would get.")
    emailAddress = serializers.CharField(required=False)
    mobileNumber = serializers.CharField(required=False)
    subject = serializers.CharField(required=False, help_text="Rendered, keywords substituted.")
    body = serializers.CharField(required=False, help_text="Rendered, keywords substituted.")
    smsPartCount = serializers.IntegerField(required=False)
    sendTime = serializers.DateTimeField(
        required=False,
        help_text="The earliest it would be handed to a provider (the daytime window for SMS).",
    )
    expires = serializers.DateTimeField(required=False)
    sendTimeReason = serializers.CharField(
        required=False, help_text="Why a Daytime SMS waits past its send time: the shut days of the window."
    )


class DryRunOrderSerializer(serializers.Serializer[Any]):
    shipment = serializers.CharField(
        required=False, help_text="Order chains: notification or reminders[i]; absent for other orders."
    )
    notificationChannel = serializers.CharField()
    sendingTimePolicy = serializers.ChoiceField(["Anytime", "Daytime"])
    requestedSendTime = serializers.DateTimeField()
    summary = DryRunSummarySerializer()
    notifications = DryRunNotificationSerializer(
        many=True, help_text="The first 100 notifications, in recipient order."
    )
    truncated = serializers.BooleanField(help_text="Whether there are more notifications than listed.")


class DryRunResponseSerializer(serializers.Serializer[Any]):
    """What the order would become: nothing was stored, nothing was sent."""

    dryRun = serializers.BooleanField()
    orders = DryRunOrderSerializer(many=True, help_text="One per order the request would register.")
    recipientLookup = RecipientLookupResultSerializer(
        required=False, help_text="v1 orders: as the receipt would have it."
    )
    warnings = ContentWarningSerializer(many=True, required=False, help_text=WARNINGS_HELP)


_SMS_NOTIFICATION = {
    "channel": "Sms",
    "recipientIndex": 0,
    "status": "New",
    "mobileNumber": "+4799999999",
    "body": "Hi Ola Nordmann, your tax return is ready.",
    "smsPartCount": 1,
    "sendTime": "2026-05-18T07:00:00Z",
    "expires": "2026-05-20T07:00:00Z",
    "sendTimeReason": "The send window is shut on 17 May: Constitution Day.",
}
DRY_RUN_ANSWERS = [
    OpenApiExample(
        "Dry run",
        summary="One SMS that waits for the window after a holiday, one reserved person",
        response_only=True,
        status_codes=["200"],
        value={
            "dryRun": True,
            "orders": [
                {
                    "notificationChannel": "Sms",
                    "sendingTimePolicy": "Daytime",
                    "requestedSendTime": "2026-05-17T10:00:00Z",
                    "summary": {
                        "recipients": 2,
                        "notifications": 2,
                        "email": {"new": 0, "failed": {}},
                        "sms": {"new": 1, "failed": {"Failed_RecipientReserved": 1}},
                        "smsParts": 1,
                        "servedByEarlierNotifications": 0,
                    },
                    "notifications": [
                        _SMS_NOTIFICATION,
                        {"channel": "Sms", "recipientIndex": 1, "status": "Failed_RecipientReserved"},
                    ],
                    "truncated": False,
                }
            ],
            "recipientLookup": {
                "status": "PartialSuccess",
                "isReserved": ["11876995923"],
                "missingContact": [],
            },
        },
    )
]
_REQUEST_ERRORS: dict[Any, Any] = {
    (400, PROBLEM): OpenApiResponse(
        ValidationProblemSerializer,
        "The request is invalid, exactly as the real endpoint would answer; every error is listed under the "
        "JSON path of its field.",
    ),
    (413, PROBLEM): OpenApiResponse(
        ProblemSerializer, "The request body is larger than the configured limit."
    ),
    (415, PROBLEM): OpenApiResponse(ProblemSerializer, "The body is not sent as application/json."),
    **access_problems(),
}
_DESCRIPTION = (
    "Validates the request exactly as {real} does and answers what it would become: recipients looked "
    "up in the contact registry (reservation, preferred channels), keywords substituted, SMS parts "
    "counted, each notification's send time (the daytime window, public holidays) and expiry. Nothing is "
    "stored, enqueued or sent, and no idempotency key or idempotencyId is read or used up. The answer is "
    "bounded: counts over every recipient, and the first 100 notifications rendered."
)


def _v1(real: str, request: Any, request_examples: Any) -> Any:
    return extend_schema(
        operation_id=f"dry_run_{real.strip('/').replace('/', '_')}",
        summary=f"Dry run of POST {real}",
        description=_DESCRIPTION.format(real=f"POST {real}"),
        tags=["Dry runs"],
        request=request,
        examples=request_examples,
        responses={
            200: OpenApiResponse(
                DryRunResponseSerializer, "What the order would become.", examples=DRY_RUN_ANSWERS
            ),
            **_REQUEST_ERRORS,
            (503, PROBLEM): OpenApiResponse(
                ProblemSerializer, "The contact registry (or the database) is unavailable; retry later."
            ),
        },
    )


def _future(real: str, request: Any, request_examples: Any, extra: dict[Any, Any]) -> Any:
    return extend_schema(
        operation_id=f"dry_run_{real.strip('/').replace('/', '_')}",
        summary=f"Dry run of POST {real}",
        description=_DESCRIPTION.format(real=f"POST {real}"),
        tags=["Dry runs"],
        request=request,
        examples=request_examples,
        responses={
            200: OpenApiResponse(
                DryRunResponseSerializer, "What the order would become.", examples=DRY_RUN_ANSWERS
            ),
            **_REQUEST_ERRORS,
            **extra,
        },
    )


_CHAIN_PROBLEMS: dict[Any, Any] = {
    (422, PROBLEM): OpenApiResponse(
        AltinnProblemSerializer,
        "NOT-00001: a recipient has no contact information for its channel (as registration would answer).",
        examples=future_examples.MISSING_CONTACT,
    ),
    (503, PROBLEM): OpenApiResponse(
        AltinnProblemSerializer, "NOT-00004: the contact registry is unavailable."
    ),
}

order_dry_run_schema = extend_schema_methods(
    create=_v1("/orders", NotificationOrderRequestSerializer, v1_examples.GENERIC_ORDER_REQUESTS),
    create_email=_v1(
        "/orders/email", EmailNotificationOrderRequestSerializer, v1_examples.EMAIL_ORDER_REQUESTS
    ),
    create_sms=_v1("/orders/sms", SmsNotificationOrderRequestSerializer, v1_examples.SMS_ORDER_REQUESTS),
)
future_dry_run_schema = extend_schema_methods(
    chain=_future(
        "/future/orders", OrderChainRequestSerializer, future_examples.ORDER_CHAIN_REQUESTS, _CHAIN_PROBLEMS
    ),
    instant_sms=_future(
        "/future/orders/instant/sms",
        InstantSmsOrderRequestSerializer,
        future_examples.INSTANT_SMS_REQUESTS,
        {},
    ),
    instant_email=_future(
        "/future/orders/instant/email",
        InstantEmailOrderRequestSerializer,
        future_examples.INSTANT_EMAIL_REQUESTS,
        {},
    ),
)
