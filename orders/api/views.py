"""The v1 orders API: thin viewsets over orders.services (writes) and orders.selectors (reads).

Every query is scoped to the caller's creator; another creator's order answers exactly like an unknown
id. The GETs by id answer 404 with an empty body, as the reference does; cancel answers problem details.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.request import Request
from rest_framework.response import Response

from core.auth import creator_of
from core.problems import PROBLEM_CONTENT_TYPE
from orders.api import examples
from orders.api.base import ApiViewSet
from orders.api.notification_lists import notification_list_body
from orders.api.output import (
    EmailNotificationSummarySerializer,
    NotificationOrderListSerializer,
    NotificationOrderRequestResponseSerializer,
    NotificationOrderSerializer,
    NotificationOrderWithStatusSerializer,
    ProblemSerializer,
    SmsNotificationSummarySerializer,
    ValidationProblemSerializer,
    order_url,
)
from orders.api.parsers import payload_too_large
from orders.api.serializers import (
    EmailNotificationOrderRequestSerializer,
    NotificationOrderRequestSerializer,
    OrderRequestBaseSerializer,
    SmsNotificationOrderRequestSerializer,
)
from orders.idempotency import (
    IdempotentReplay,
    idempotency_claim,
    idempotency_release,
    key_problem,
    request_fingerprint,
)
from orders.selectors import order_get, order_get_with_status, order_list
from orders.services import order_cancel, order_create

PROBLEM = PROBLEM_CONTENT_TYPE
MSG_INVALID_ID = "The order id must be a UUID."
MSG_SENDERS_REFERENCE_REQUIRED = "The sendersReference query parameter is required."

_COMMON_RESPONSES: dict[Any, Any] = {
    (401, PROBLEM): OpenApiResponse(ProblemSerializer, "The token is missing, invalid or expired."),
    (403, PROBLEM): OpenApiResponse(
        ProblemSerializer,
        "The token lacks the scope altinn:serviceowner/notifications.create or the organisation claim, and "
        "no valid platform access token was sent.",
    ),
    (429, PROBLEM): OpenApiResponse(
        ProblemSerializer, "Too many requests from this creator; see Retry-After."
    ),
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
IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
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


def _order_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise serializers.ValidationError({"id": [MSG_INVALID_ID]}) from None


def _register(request: Request, serializer_class: type[OrderRequestBaseSerializer]) -> Response:
    if not request.content_type and int(request.META.get("CONTENT_LENGTH") or 0) > 0:
        # DRF would read a body without a Content-Type as empty and report every field missing.
        raise UnsupportedMediaType("", detail="Send the order as JSON with Content-Type: application/json.")
    try:
        data = request.data
    except RequestDataTooBig:
        raise payload_too_large() from None
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    creator = creator_of(request)
    claim = None
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None:
        problem = key_problem(key)
        if problem:
            raise serializers.ValidationError({IDEMPOTENCY_HEADER: [problem]})
        outcome = idempotency_claim(
            creator=creator, key=key, request_hash=request_fingerprint(path=request.path, data=data)
        )
        if isinstance(outcome, IdempotentReplay):
            return Response(
                outcome.body,
                status=outcome.status,
                headers={"Location": order_url(outcome.order_id), REPLAYED_HEADER: "true"},
            )
        claim = outcome
    try:
        receipt = order_create(creator=creator, idempotency=claim, **serializer.validated_data)
    except BaseException:
        if claim is not None:
            idempotency_release(claim=claim)
        raise
    return Response(
        NotificationOrderRequestResponseSerializer(receipt).data,
        status=status.HTTP_202_ACCEPTED,
        headers={"Location": order_url(receipt.order.id)},
    )


_View = TypeVar("_View", bound=Callable[..., Response])


def _registration_schema(
    *, operation_id: str, summary: str, request: type[OrderRequestBaseSerializer], request_examples: list[Any]
) -> Callable[[_View], _View]:
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


class OrderViewSet(ApiViewSet):
    """Notification orders: register them, read them back, follow their status and cancel them."""

    @_registration_schema(
        operation_id="orders_create",
        summary="Register a notification order for any channel",
        request=NotificationOrderRequestSerializer,
        request_examples=examples.GENERIC_ORDER_REQUESTS,
    )
    def create(self, request: Request) -> Response:
        """Register an order for Email, Sms, EmailPreferred, SmsPreferred or EmailAndSms."""
        return _register(request, NotificationOrderRequestSerializer)

    @_registration_schema(
        operation_id="orders_email_create",
        summary="Register an email notification order",
        request=EmailNotificationOrderRequestSerializer,
        request_examples=examples.EMAIL_ORDER_REQUESTS,
    )
    def create_email(self, request: Request) -> Response:
        """Register an order that sends one email to every recipient."""
        return _register(request, EmailNotificationOrderRequestSerializer)

    @_registration_schema(
        operation_id="orders_sms_create",
        summary="Register an SMS notification order",
        request=SmsNotificationOrderRequestSerializer,
        request_examples=examples.SMS_ORDER_REQUESTS,
    )
    def create_sms(self, request: Request) -> Response:
        """Register an order that sends one SMS to every recipient (inside the daytime window)."""
        return _register(request, SmsNotificationOrderRequestSerializer)

    @extend_schema(
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
    )
    def list_by_senders_reference(self, request: Request) -> Response:
        """The caller's orders with exactly this sender's reference (200 with an empty list when none)."""
        reference = request.query_params.get("sendersReference")
        if reference is None:
            raise serializers.ValidationError({"sendersReference": [MSG_SENDERS_REFERENCE_REQUIRED]})
        orders = order_list(creator=creator_of(request), senders_reference=reference)
        return Response(NotificationOrderListSerializer({"count": len(orders), "orders": orders}).data)

    @extend_schema(
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
    )
    def retrieve(self, request: Request, id: str) -> Response:
        """The order with its recipients and templates as registered, and links to itself and its status."""
        order = order_get(order_id=_order_id(id), creator=creator_of(request))
        if order is None:
            return Response(status=status.HTTP_404_NOT_FOUND)
        return Response(NotificationOrderSerializer(order).data)

    @extend_schema(
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
    )
    def order_status(self, request: Request, id: str) -> Response:
        """The order's processing status and its notification counts per channel."""
        order = order_get_with_status(order_id=_order_id(id), creator=creator_of(request))
        if order is None:
            return Response(status=status.HTTP_404_NOT_FOUND)
        return Response(NotificationOrderWithStatusSerializer(order).data)

    @extend_schema(
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
    )
    def cancel(self, request: Request, id: str) -> Response:
        """Cancel the order if it is still cancellable."""
        order = order_cancel(order_id=_order_id(id), creator=creator_of(request))
        return Response(NotificationOrderWithStatusSerializer(order).data)


def _notification_list(request: Request, id: str, channel: str) -> HttpResponse:
    # Rendered by PostgreSQL (see notification_lists): a 10,000-row list in tens of milliseconds.
    body = notification_list_body(order_id=_order_id(id), creator=creator_of(request), channel=channel)
    if body is None:
        return Response(status=status.HTTP_404_NOT_FOUND)
    return HttpResponse(body, content_type="application/json")


class OrderNotificationViewSet(ApiViewSet):
    """The notifications generated from an order, with the send status of each."""

    @extend_schema(
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
    )
    def email(self, request: Request, id: str) -> HttpResponse:
        """The order's email notifications in recipient order."""
        return _notification_list(request, id, "email")

    @extend_schema(
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
    )
    def sms(self, request: Request, id: str) -> HttpResponse:
        """The order's SMS notifications in recipient order."""
        return _notification_list(request, id, "sms")
