"""OpenAPI metadata of the v1 orders API (``orders.api.views``): each operation's id, summary, parameters
and answers, applied to the viewsets by ``extend_schema_methods``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema

from core.openapi import (
    ProblemSerializer,
    ValidationProblemSerializer,
    access_problems,
    extend_schema_methods,
)
from core.problems import PROBLEM_CONTENT_TYPE
from orders.api import examples
from orders.api.output import (
    EmailNotificationSummarySerializer,
    NotificationOrderListSerializer,
    NotificationOrderRequestResponseSerializer,
    NotificationOrderSerializer,
    NotificationOrderWithStatusSerializer,
    SmsNotificationSummarySerializer,
)
from orders.api.serializers import (
    EmailNotificationOrderRequestSerializer,
    NotificationOrderRequestSerializer,
    OrderRequestBaseSerializer,
    SmsNotificationOrderRequestSerializer,
)
from orders.idempotency import IDEMPOTENCY_HEADER, REPLAYED_HEADER

PROBLEM = PROBLEM_CONTENT_TYPE

_COMMON_RESPONSES: dict[Any, Any] = {
    **access_problems(),
    (503, PROBLEM): OpenApiResponse(ProblemSerializer, "The database is unavailable; retry later."),
}
_BAD_ID = {(400, PROBLEM): OpenApiResponse(ValidationProblemSerializer, "The id is not a UUID.")}
_NOT_FOUND_EMPTY = {
    404: OpenApiResponse(
        description="No order with this id for the caller (unknown, or another creator's). Empty body."
    )
}
_REGISTER_RESPONSES: dict[Any, Any] = {
    (400, PROBLEM): OpenApiResponse(
        ValidationProblemSerializer,
        "The request is invalid (malformed JSON, a wrong type, a broken rule); every error is listed under "
        "the JSON path of its field.",
        examples=examples.VALIDATION_PROBLEMS,
    ),
    (413, PROBLEM): OpenApiResponse(
        ProblemSerializer, "The request body is larger than the configured limit."
    ),
    (415, PROBLEM): OpenApiResponse(ProblemSerializer, "The body is not sent as application/json."),
    (409, PROBLEM): OpenApiResponse(
        ProblemSerializer,
        "A request with the same Idempotency-Key is still being processed; see Retry-After.",
    ),
    (422, PROBLEM): OpenApiResponse(
        ProblemSerializer, "The Idempotency-Key was already used for a different request."
    ),
    **_COMMON_RESPONSES,
}
_ID_PARAMETER = OpenApiParameter(
    "id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The id of the notification order."
)
_IDEMPOTENCY_KEY = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    # What key_problem accepts, so a generated or hand-written client knows it before a 400. Spaces only
    # inside: HTTP drops them at the ends of a header value.
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]([ -~]*[!-~])?$"},
    OpenApiParameter.HEADER,
    required=False,
    description="Makes a retried POST safe: a repeat with the same key and the same body within 24 hours "
    "returns the first response (with Idempotent-Replayed: true) instead of registering a second order. "
    "The same key with a different body is a 422; a repeat while the first request is still running is a "
    "409 with Retry-After. Keys are scoped to the creator; 1-255 printable ASCII characters.",
)
_REPLAYED = OpenApiParameter(
    REPLAYED_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[202],
    description="'true' when this response is the stored response of an earlier request with the same "
    "Idempotency-Key.",
)
_LOCATION = OpenApiParameter(
    "Location",
    OpenApiTypes.URI,
    OpenApiParameter.HEADER,
    response=[202],
    description="The URL of the new order.",
)


def _registration(
    *, operation_id: str, summary: str, request: type[OrderRequestBaseSerializer], request_examples: list[Any]
) -> Callable[[Any], Any]:
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        tags=["Orders"],
        request=request,
        parameters=[_LOCATION, _IDEMPOTENCY_KEY, _REPLAYED],
        responses={
            202: OpenApiResponse(
                NotificationOrderRequestResponseSerializer,
                "The order is registered. recipientLookup is left out when no recipient needed a lookup, and "
                "when the contact registry could not be reached (the recipients are looked up again when the "
                "order is processed).",
                examples=examples.RECEIPTS,
            ),
            **_REGISTER_RESPONSES,
        },
        examples=request_examples,
    )


orders_schema = extend_schema_methods(
    create=_registration(
        operation_id="orders_create",
        summary="Register a notification order for any channel",
        request=NotificationOrderRequestSerializer,
        request_examples=examples.GENERIC_ORDER_REQUESTS,
    ),
    create_email=_registration(
        operation_id="orders_email_create",
        summary="Register an email notification order",
        request=EmailNotificationOrderRequestSerializer,
        request_examples=examples.EMAIL_ORDER_REQUESTS,
    ),
    create_sms=_registration(
        operation_id="orders_sms_create",
        summary="Register an SMS notification order",
        request=SmsNotificationOrderRequestSerializer,
        request_examples=examples.SMS_ORDER_REQUESTS,
    ),
    list_by_senders_reference=extend_schema(
        operation_id="orders_list_by_senders_reference",
        summary="Find orders by the sender's reference",
        tags=["Orders"],
        parameters=[
            OpenApiParameter(
                "sendersReference",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                required=True,
                description="Exact match on the sender's reference of the caller's orders.",
            )
        ],
        responses={
            200: NotificationOrderListSerializer,
            (400, PROBLEM): OpenApiResponse(ValidationProblemSerializer, "sendersReference is missing."),
            **_COMMON_RESPONSES,
        },
    ),
    retrieve=extend_schema(
        operation_id="orders_retrieve",
        summary="Get an order as registered",
        tags=["Orders"],
        parameters=[_ID_PARAMETER],
        responses={
            200: OpenApiResponse(NotificationOrderSerializer, "The order.", examples=examples.ORDERS),
            **_BAD_ID,
            **_NOT_FOUND_EMPTY,
            **_COMMON_RESPONSES,
        },
    ),
    order_status=extend_schema(
        operation_id="orders_status_retrieve",
        summary="Get the processing status of an order",
        description="The order's processing status and, per channel, how many notifications were generated "
        "and how many succeeded.\n\nDifferences from the service this one replaces: an order whose "
        "notifications are generated but not yet all final is reported as `Processed` (not as `Completed` "
        "with the Processed description), and `succeeded` counts SMS in Accepted **and** Delivered, the same "
        "rule as the notification lists.",
        tags=["Orders"],
        parameters=[_ID_PARAMETER],
        responses={
            200: OpenApiResponse(
                NotificationOrderWithStatusSerializer,
                "The order with its status.",
                examples=examples.ORDER_STATUSES,
            ),
            **_BAD_ID,
            **_NOT_FOUND_EMPTY,
            **_COMMON_RESPONSES,
        },
    ),
    cancel=extend_schema(
        operation_id="orders_cancel",
        summary="Cancel an order",
        description="Cancels a Registered order whose send time is more than five minutes away. Cancelling "
        "an order that is already cancelled succeeds again.",
        tags=["Orders"],
        request=None,
        parameters=[_ID_PARAMETER],
        responses={
            200: OpenApiResponse(
                NotificationOrderWithStatusSerializer, "The cancelled order with its status."
            ),
            **_BAD_ID,
            (404, PROBLEM): OpenApiResponse(ProblemSerializer, "No order with this id for the caller."),
            (409, PROBLEM): OpenApiResponse(
                ProblemSerializer, "The order is being or has been processed, or is due within five minutes."
            ),
            **_COMMON_RESPONSES,
        },
    ),
)

order_notifications_schema = extend_schema_methods(
    email=extend_schema(
        operation_id="orders_notifications_email_retrieve",
        summary="Get the email notifications of an order",
        tags=["Notifications"],
        parameters=[_ID_PARAMETER],
        responses={
            200: OpenApiResponse(
                EmailNotificationSummarySerializer,
                "Every email notification with its send status (an empty list before any is generated).",
                examples=examples.EMAIL_NOTIFICATIONS,
            ),
            **_BAD_ID,
            **_NOT_FOUND_EMPTY,
            **_COMMON_RESPONSES,
        },
    ),
    sms=extend_schema(
        operation_id="orders_notifications_sms_retrieve",
        summary="Get the SMS notifications of an order",
        tags=["Notifications"],
        parameters=[_ID_PARAMETER],
        responses={
            200: OpenApiResponse(
                SmsNotificationSummarySerializer,
                "Every SMS notification with its send status (an empty list before any is generated).",
                examples=examples.SMS_NOTIFICATIONS,
            ),
            **_BAD_ID,
            **_NOT_FOUND_EMPTY,
            **_COMMON_RESPONSES,
        },
    ),
)
