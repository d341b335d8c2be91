"""OpenAPI metadata of the future API (``orders.api.future.views``): each operation's id, summary,
parameters and answers, applied to the viewsets by ``extend_schema_methods``. The parts every future
operation shares (``COMMON``, ``BODY_ERRORS``, ``LOCATION``) serve the instant orders' too."""

from __future__ import annotations

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
from orders.api.future import examples
from orders.api.future.output import (
    AltinnProblemSerializer,
    DeliveryManifestSerializer,
    OrderChainResponseSerializer,
    OrderChainSerializer,
    StatusFeedEntrySerializer,
)
from orders.api.future.serializers import OrderChainRequestSerializer
from orders.feed import MAX_PAGE_SIZE

PROBLEM = PROBLEM_CONTENT_TYPE

COMMON: dict[Any, Any] = access_problems()
BODY_ERRORS: dict[Any, Any] = {
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
LOCATION = OpenApiParameter(
    "Location",
    OpenApiTypes.URI,
    OpenApiParameter.HEADER,
    response=[200, 201],
    description="The order chain: GET /future/orders/chain/{notificationOrderId}.",
)

future_orders_schema = extend_schema_methods(
    create=extend_schema(
        operation_id="future_orders_create",
        summary="Register an order chain: a notification and its reminders",
        description="Registers one notification to one recipient and, optionally, reminders: each an "
        "order of its own, sent `delayDays` after the main notification's send time (or at its own "
        "`requestedSendTime`) unless its own `conditionEndpoint` says no. Persons, organizations and "
        "self-identified users are looked up in the contact registry first: if any recipient, of the "
        "notification or of a reminder, has no contact information for its channel, nothing is stored "
        "and the answer is 422 NOT-00001 (a reserved person is accepted; it gets a "
        "Failed_RecipientReserved notification unless ignoreReservation).\n\n"
        "Repeating a request with the same `idempotencyId` returns the first receipt with 200, whatever "
        "the new body says; this holds for as long as the chain exists.\n\n"
        "Differences from the service this one replaces: the `Location` header points at a resource "
        "that exists (GET /future/orders/chain/{id}); concurrent duplicates get the winner's receipt "
        "(the reference answered 500); a contact registry outage is a 503 NOT-00004 (the 422 check cannot "
        "be made); an ID-porten email identity is sent to the address in its URN without a lookup; "
        "`useStaleContactInformation` is accepted but changes nothing; each shipment's receipt includes "
        "`smsPartCount` when it has an SMS text; errors are keyed by JSON path.",
        tags=["Order chains"],
        request=OrderChainRequestSerializer,
        examples=examples.ORDER_CHAIN_REQUESTS,
        parameters=[LOCATION],
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
            **BODY_ERRORS,
            **COMMON,
        },
    ),
    chain=extend_schema(
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
            **COMMON,
        },
    ),
)

shipments_schema = extend_schema_methods(
    retrieve=extend_schema(
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
            **COMMON,
        },
    ),
    feed=extend_schema(
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
            **COMMON,
        },
    ),
)
