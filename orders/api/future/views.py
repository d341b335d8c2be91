"""The future API: thin viewsets over orders.chains, orders.instant, orders.feed and the selectors.

Everything is scoped to the caller's creator: another creator's chain or shipment answers exactly like
an unknown id. Errors with one of the reference's codes (NOT-00001, NOT-00003, NOT-00004) are problem
details with ``type: urn:altinn:error:NOT-0000x`` and ``code``.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from django.core.exceptions import RequestDataTooBig
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.request import Request
from rest_framework.response import Response

from core.auth import creator_of
from core.problems import PROBLEM_CONTENT_TYPE, problem_body
from orders.api.base import ApiViewSet
from orders.api.future import examples
from orders.api.future.output import (
    AltinnProblemSerializer,
    DeliveryManifestSerializer,
    InstantOrderResponseSerializer,
    OrderChainResponseSerializer,
    OrderChainSerializer,
    StatusFeedEntrySerializer,
    chain_url,
    delivery_manifest,
)
from orders.api.future.serializers import (
    InstantEmailOrderRequestSerializer,
    InstantSmsOrderRequestSerializer,
    OrderChainRequestSerializer,
)
from orders.api.output import ProblemSerializer, ValidationProblemSerializer
from orders.api.parsers import payload_too_large
from orders.chains import AltinnProblem, ChainReceipt, ChainRequest, chain_create
from orders.feed import MAX_PAGE_SIZE, status_feed_list
from orders.instant import instant_order_create
from orders.selectors import order_chain_get, shipment_get

PROBLEM = PROBLEM_CONTENT_TYPE
MSG_INVALID_ID = "The id must be a UUID."
MSG_SEQ_NEGATIVE = "Sequence number cannot be less than 0."
MSG_SEQ_INVALID = "The sequence number must be a whole number."
MSG_PAGE_SIZE_INVALID = "The page size must be a whole number."
MSG_ORDER_BY_INVALID = "orderBy must be Asc or Desc."
MSG_SEQ_TOO_LARGE = "Sequence number cannot be larger than 9223372036854775807."
MAX_SEQ = 2**63 - 1  # a long, as in the reference
_INTEGER = re.compile("-?[0-9]+")


class ShipmentNotFound(AltinnProblem):
    status_code = 404
    title = "Shipment not found"
    code = "NOT-00003"


class ChainNotFound(AltinnProblem):
    status_code = 404
    title = "Order chain not found"


_COMMON: dict[Any, Any] = {
    (401, PROBLEM): OpenApiResponse(ProblemSerializer, "The token is missing, invalid or expired."),
    (403, PROBLEM): OpenApiResponse(
        ProblemSerializer,
        "The token lacks the scope altinn:serviceowner/notifications.create or the organisation claim, and "
        "no valid platform access token was sent.",
    ),
    (429, PROBLEM): OpenApiResponse(
        ProblemSerializer, "Too many requests from this creator; see Retry-After."
    ),
}
_BODY_ERRORS: dict[Any, Any] = {
    (400, PROBLEM): OpenApiResponse(
        ValidationProblemSerializer,
        "The request is invalid; every error is listed under the JSON path of its field "
        "(recipient.recipientPerson.emailSettings, reminders[0].delayDays).",
    ),
    (413, PROBLEM): OpenApiResponse(
        ProblemSerializer, "The request body is larger than the configured limit."
    ),
    (415, PROBLEM): OpenApiResponse(ProblemSerializer, "The body is not sent as application/json."),
}
_BAD_ID = {(400, PROBLEM): OpenApiResponse(ValidationProblemSerializer, "The id is not a UUID.")}
_LOCATION = OpenApiParameter(
    "Location",
    OpenApiTypes.URI,
    OpenApiParameter.HEADER,
    response=[200, 201],
    description="The order chain: GET /future/orders/chain/{notificationOrderId}.",
)


def _uuid(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise serializers.ValidationError({"id": [MSG_INVALID_ID]}) from None


def _body(request: Request) -> Any:
    if not request.content_type and int(request.META.get("CONTENT_LENGTH") or 0) > 0:
        # DRF would read a body without a Content-Type as empty and report every field missing.
        raise UnsupportedMediaType("", detail="Send the request as JSON with Content-Type: application/json.")
    try:
        return request.data
    except RequestDataTooBig:
        raise payload_too_large() from None


def _indexed_as_lists(detail: Any) -> Any:
    if isinstance(detail, dict):
        if detail and all(isinstance(key, int) for key in detail):
            items: list[Any] = [{} for _ in range(max(detail) + 1)]
            for index, value in detail.items():
                items[index] = _indexed_as_lists(value)
            return items
        return {key: _indexed_as_lists(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_indexed_as_lists(item) for item in detail]
    return detail


def _receipt_response(receipt: ChainReceipt) -> Response:
    return Response(
        receipt.body,
        status=status.HTTP_201_CREATED if receipt.created else status.HTTP_200_OK,
        headers={"Location": chain_url(receipt.chain_id)},
    )


class _FutureViewSet(ApiViewSet):
    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, serializers.ValidationError):
            # DRF reports a list's item errors as {index: errors}; as a list they get "reminders[0]" paths.
            exc.detail = _indexed_as_lists(exc.detail)
        if isinstance(exc, AltinnProblem):
            body = problem_body(
                exc.status_code,
                exc.title,
                exc.detail,
                problem_type=exc.problem_type if exc.code else "about:blank",
                code=exc.code,
                extra={"errors": exc.errors} if exc.errors else None,
            )
            response = Response(body, status=exc.status_code, content_type=PROBLEM)
            retry_after = getattr(exc, "retry_after", None)
            if retry_after is not None:
                response["Retry-After"] = str(retry_after)
            return response
        return super().handle_exception(exc)


def _instant_responses() -> dict[Any, Any]:
    return {
        201: OpenApiResponse(
            InstantOrderResponseSerializer,
            "Sent (handed to the provider).",
            examples=examples.INSTANT_RECEIPTS,
        ),
        200: OpenApiResponse(
            InstantOrderResponseSerializer, "A request with this idempotencyId was sent before: its receipt."
        ),
        (409, PROBLEM): OpenApiResponse(
            ProblemSerializer, "The first request with this idempotencyId is still sending; see Retry-After."
        ),
        (503, PROBLEM): OpenApiResponse(
            AltinnProblemSerializer,
            "NOT-00004: the provider did not take the message (or is paused after throttling); nothing was "
            "kept. `detail` says whether trying again can help.",
            examples=examples.PROVIDER_FAILED,
        ),
        **_BODY_ERRORS,
        **_COMMON,
    }


class FutureOrderViewSet(_FutureViewSet):
    """Order chains (a notification with reminders) and instant orders."""

    @extend_schema(
        operation_id="future_orders_create",
        summary="Register an order chain: a notification and its reminders",
        description="Registers one notification to one recipient and, optionally, reminders: each an "
        "order of its own, sent `delayDays` after the main notification's send time (or at its own "
        "`requestedSendTime`) unless its own `conditionEndpoint` says no. Persons and organizations are "
        "looked up in the contact registry first: if any recipient, of the notification or of a "
        "reminder, has no contact information for its channel, nothing is stored and the answer is 422 "
        "NOT-00001 (a reserved person is accepted; it gets a Failed_RecipientReserved notification unless "
        "ignoreReservation).\n\n"
        "Repeating a request with the same `idempotencyId` returns the first receipt with 200, whatever "
        "the new body says; this holds for as long as the chain exists.\n\n"
        "Differences from the service this one replaces: the `Location` header points at a resource "
        "that exists (GET /future/orders/chain/{id}); concurrent duplicates get the winner's receipt "
        "(the reference answered 500); a contact registry outage is a 503 NOT-00004 (the 422 check cannot "
        "be made); recipients by external identity are refused (no register of them here); "
        "`useStaleContactInformation` is accepted but changes nothing; each shipment's receipt includes "
        "`smsPartCount` when it has an SMS text; errors are keyed by JSON path.",
        tags=["Order chains"],
        request=OrderChainRequestSerializer,
        examples=examples.ORDER_CHAIN_REQUESTS,
        parameters=[_LOCATION],
        responses={
            201: OpenApiResponse(
                OrderChainResponseSerializer,
                "The chain is registered.",
                examples=examples.ORDER_CHAIN_RECEIPTS,
            ),
            200: OpenApiResponse(
                OrderChainResponseSerializer, "A chain with this idempotencyId exists: its original receipt."
            ),
            (422, PROBLEM): OpenApiResponse(
                AltinnProblemSerializer,
                "NOT-00001: a recipient has no contact information for its channel; nothing was stored.",
                examples=examples.MISSING_CONTACT,
            ),
            (503, PROBLEM): OpenApiResponse(
                AltinnProblemSerializer,
                "NOT-00004: the contact registry (or the database) could not be reached; retry later.",
            ),
            **_BODY_ERRORS,
            **_COMMON,
        },
    )
    def create(self, request: Request) -> Response:
        """Register an order chain, or answer a repeat with the first receipt."""
        data = _body(request)
        serializer = OrderChainRequestSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        chain: ChainRequest = serializer.validated_data
        chain = ChainRequest(
            idempotency_id=chain.idempotency_id, main=chain.main, reminders=chain.reminders, raw=data
        )
        return _receipt_response(chain_create(creator=creator_of(request), request=chain))

    @extend_schema(
        operation_id="future_orders_chain_retrieve",
        summary="Get an order chain",
        description="The chain a receipt's notificationOrderId names (the Location of the POST), with the "
        "status of its notification and of each reminder. Not offered by the service this one replaces, "
        "whose Location header pointed at this path without serving it.",
        tags=["Order chains"],
        parameters=[OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
        responses={
            200: OrderChainSerializer,
            **_BAD_ID,
            (404, PROBLEM): OpenApiResponse(ProblemSerializer, "No order chain with this id for the caller."),
            **_COMMON,
        },
    )
    def chain(self, request: Request, id: str) -> Response:
        """The chain with its shipments and their status."""
        chain = order_chain_get(chain_id=_uuid(id), creator=creator_of(request))
        if chain is None or not chain.orders.all():
            raise ChainNotFound("No order chain with this id was found.")
        return Response(OrderChainSerializer(chain).data)

    def _instant(self, request: Request, serializer_class: type[serializers.Serializer[Any]]) -> Response:
        data = _body(request)
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        receipt = instant_order_create(creator=creator_of(request), raw=data, **serializer.validated_data)
        return _receipt_response(receipt)

    @extend_schema(
        operation_id="future_orders_instant_sms_create",
        summary="Send one SMS now",
        description="Sends one SMS to a known number while the client waits, through the configured SMS "
        "provider, and keeps it as an order of type Instant (its delivery report arrives later; follow it "
        "with GET /future/shipment/{shipmentId}). If the provider does not take the message the answer is "
        "503 NOT-00004 and nothing is kept, so the same request may be sent again. Repeating a request "
        "with the same idempotencyId returns the first receipt (200) without sending again; while the "
        "first is still sending, 409 with Retry-After.\n\n"
        "Differences from the service this one replaces: the receipt includes `smsPartCount` (the "
        "reference computed it and threw it away), with GSM-7 and UCS-2 counted properly; a duplicate "
        "arriving during the send gets 409 rather than a second message or a 500.",
        tags=["Instant orders"],
        request=InstantSmsOrderRequestSerializer,
        examples=examples.INSTANT_SMS_REQUESTS,
        parameters=[_LOCATION],
        responses=_instant_responses(),
    )
    def instant_sms(self, request: Request) -> Response:
        """Send one SMS synchronously."""
        return self._instant(request, InstantSmsOrderRequestSerializer)

    @extend_schema(
        operation_id="future_orders_instant_email_create",
        summary="Send one email now",
        description="Sends one email to a known address while the client waits, through the configured "
        "email provider, and keeps it as an order of type Instant. If the provider does not take it the "
        "answer is 503 NOT-00004 and nothing is kept. Repeats with the same idempotencyId get the first "
        "receipt (200); while the first is still sending, 409 with Retry-After.",
        tags=["Instant orders"],
        request=InstantEmailOrderRequestSerializer,
        examples=examples.INSTANT_EMAIL_REQUESTS,
        parameters=[_LOCATION],
        responses=_instant_responses(),
    )
    def instant_email(self, request: Request) -> Response:
        """Send one email synchronously."""
        return self._instant(request, InstantEmailOrderRequestSerializer)


class ShipmentViewSet(_FutureViewSet):
    """Shipments (orders of any kind) and the feed of finished ones."""

    @extend_schema(
        operation_id="future_shipment_retrieve",
        summary="Get the delivery manifest of a shipment",
        description="Any order of the caller (v1 orders, chain notifications, reminders, instant orders) "
        "with the status of every notification generated for it.\n\nDifferences from the service this "
        "one replaces: a non-UUID id is a 400 problem (the reference: 404 with an empty body); a "
        "recipient without an address leaves `destination` out instead of sending an empty string.",
        tags=["Shipments"],
        parameters=[
            OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The shipmentId.")
        ],
        responses={
            200: OpenApiResponse(DeliveryManifestSerializer, "The manifest.", examples=examples.MANIFESTS),
            **_BAD_ID,
            (404, PROBLEM): OpenApiResponse(
                AltinnProblemSerializer, "NOT-00003: no such shipment for the caller."
            ),
            **_COMMON,
        },
    )
    def retrieve(self, request: Request, id: str) -> Response:
        """The shipment with every notification's destination and status."""
        shipment = shipment_get(order_id=_uuid(id), creator=creator_of(request))
        if shipment is None:
            raise ShipmentNotFound("No shipment with this id was found.")
        return Response(delivery_manifest(shipment.order, shipment.emails, shipment.sms))

    @extend_schema(
        operation_id="future_shipment_feed_list",
        summary="Read the status feed of finished shipments",
        description="One entry per order of the caller that reached a final status (Order_Completed, "
        "Order_SendConditionNotMet, Order_Cancelled), with its notifications' statuses at that moment. "
        "Read it with a cursor: pass the last sequenceNumber you processed as `seq` to get the entries "
        "after it (`orderBy=Desc`: before it, newest first; `seq=0` then starts at the newest). Entries "
        "are kept 90 days (NOTIFICATIONS_STATUS_FEED_RETENTION_DAYS).\n\n"
        "Differences from the service this one replaces: entries are visible as soon as they are "
        "committed, never out of sequence order (the reference held every entry back two seconds and "
        "could still skip one); cancelled orders appear too, so a client following the feed learns about "
        "orders staff cancelled; a Content-Type on this GET is not refused.",
        tags=["Shipments"],
        parameters=[
            OpenApiParameter(
                "seq",
                {"type": "integer", "format": "int64", "minimum": 0},
                OpenApiParameter.QUERY,
                description="The cursor (default 0, not negative).",
            ),
            OpenApiParameter(
                "pageSize",
                OpenApiTypes.INT,
                OpenApiParameter.QUERY,
                description=f"Entries per page: default and at most {MAX_PAGE_SIZE}; below 1 means 1.",
            ),
            OpenApiParameter(
                "orderBy",
                {"type": "string", "pattern": "^([Aa][Ss][Cc]|[Dd][Ee][Ss][Cc])$"},
                OpenApiParameter.QUERY,
                description="Asc (default: entries after seq, oldest first) or Desc (entries before seq, "
                "newest first); any case.",
            ),
        ],
        responses={
            200: OpenApiResponse(
                StatusFeedEntrySerializer(many=True), "The entries.", examples=examples.FEED
            ),
            (400, PROBLEM): OpenApiResponse(ValidationProblemSerializer, "seq is negative or not a number."),
            **_COMMON,
        },
    )
    def feed(self, request: Request) -> Response:
        """The caller's finished shipments after (or before) the cursor."""
        params = request.query_params
        errors: dict[str, list[str]] = {}
        seq = _query_int(params.get("seq"), 0, "seq", MSG_SEQ_INVALID, errors)
        if seq is not None and seq < 0:
            errors["seq"] = [MSG_SEQ_NEGATIVE]
        elif seq is not None and seq > MAX_SEQ:
            errors["seq"] = [MSG_SEQ_TOO_LARGE]
        page_size = _query_int(
            params.get("pageSize"), MAX_PAGE_SIZE, "pageSize", MSG_PAGE_SIZE_INVALID, errors
        )
        order_by = params.get("orderBy", "Asc").lower()
        if order_by not in ("asc", "desc"):
            errors["orderBy"] = [MSG_ORDER_BY_INVALID]
        if errors:
            raise serializers.ValidationError(errors)
        assert seq is not None
        assert page_size is not None
        entries = status_feed_list(
            creator=creator_of(request), seq=seq, page_size=page_size, descending=order_by == "desc"
        )
        return Response([StatusFeedEntrySerializer(entry).data for entry in entries])


def _query_int(
    raw: str | None, default: int, name: str, message: str, errors: dict[str, list[str]]
) -> int | None:
    if raw is None:
        return default
    # Digits only: int() would also take " 5", "5_000" and "٥".
    if not _INTEGER.fullmatch(raw):
        errors[name] = [message]
        return None
    if len(raw.lstrip("-")) > 19:
        # Past any long; int() refuses over 4,300 digits (a ValueError, once a 500). One past the
        # largest long stands in: seq then says it is too large, pageSize is clamped.
        return -(MAX_SEQ + 1) if raw.startswith("-") else MAX_SEQ + 1
    return int(raw)
