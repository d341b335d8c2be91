"""The v1 orders API: thin viewsets over orders.services (writes) and orders.selectors (reads).

Every query is scoped to the caller's creator; another creator's order answers exactly like an unknown
id. The GETs by id answer 404 with an empty body, as the reference does; cancel answers problem details.
The OpenAPI description of each operation is in ``orders.api.schema``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.http import HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from core.auth import creator_of
from orders.api import schema
from orders.api.base import ApiViewSet, json_body
from orders.api.decoder import decode_email_order, decode_sms_order, mobile_only_canonical_json
from orders.api.notification_lists import notification_list, notification_list_state
from orders.api.output import (
    NotificationOrderListSerializer,
    NotificationOrderSerializer,
    NotificationOrderWithStatusSerializer,
    order_url,
)
from orders.api.serializers import (
    EmailNotificationOrderRequestSerializer,
    NotificationOrderRequestSerializer,
    OrderRequestBaseSerializer,
    SmsNotificationOrderRequestSerializer,
)
from orders.idempotency import (
    IDEMPOTENCY_HEADER,
    REPLAYED_HEADER,
    IdempotentReplay,
    canonical_fingerprint,
    idempotency_claim,
    idempotency_release,
    key_problem,
    request_fingerprint,
)
from orders.selectors import order_get, order_get_with_status, order_list
from orders.services import order_cancel, order_create
from orders.warnings import TemplatePaths

MSG_INVALID_ID = "The order id must be a UUID."
MSG_SENDERS_REFERENCE_REQUIRED = "The sendersReference query parameter is required."


def _order_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise serializers.ValidationError({"id": [MSG_INVALID_ID]}) from None


# Where each request shape keeps its texts, for the receipt's content warnings.
TEMPLATE_PATHS: dict[type[OrderRequestBaseSerializer], TemplatePaths] = {
    NotificationOrderRequestSerializer: TemplatePaths(),
    SmsNotificationOrderRequestSerializer: TemplatePaths(sms_body="body"),
    EmailNotificationOrderRequestSerializer: TemplatePaths(email_subject="subject", email_body="body"),
}


# The compiled fast path of each request shape (orders.api.decoder); the serializer decides the rest.
FAST_DECODERS: dict[type[OrderRequestBaseSerializer], Callable[[Request], dict[str, Any] | None]] = {
    SmsNotificationOrderRequestSerializer: decode_sms_order,
    EmailNotificationOrderRequestSerializer: decode_email_order,
}


def _register(request: Request, serializer_class: type[OrderRequestBaseSerializer]) -> Response:
    fast = FAST_DECODERS.get(serializer_class)
    validated = fast(request) if fast is not None else None
    data: Any = None
    if validated is None:
        data = json_body(request, what="order")
        serializer = serializer_class(data=data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        validated = serializer.validated_data
    creator = creator_of(request)
    claim = None
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None:
        problem = key_problem(key)
        if problem:
            raise serializers.ValidationError({IDEMPOTENCY_HEADER: [problem]})
        # Decoded by the fast path: the fingerprint hashes the document as parsed, a large numbers-only
        # order without parsing its recipients a second time.
        canonical = mobile_only_canonical_json(request, validated["recipients"]) if data is None else None
        if canonical is not None:
            request_hash = canonical_fingerprint(path=request.path, canonical=canonical)
        else:
            if data is None:
                data = json_body(request, what="order")
            request_hash = request_fingerprint(path=request.path, data=data)
        outcome = idempotency_claim(creator=creator, key=key, request_hash=request_hash)
        if isinstance(outcome, IdempotentReplay):
            return Response(
                outcome.body,
                status=outcome.status,
                headers={"Location": order_url(outcome.order_id), REPLAYED_HEADER: "true"},
            )
        claim = outcome
    try:
        receipt = order_create(
            creator=creator,
            idempotency=claim,
            template_paths=TEMPLATE_PATHS[serializer_class],
            **validated,
        )
    except BaseException:
        if claim is not None:
            idempotency_release(claim=claim)
        raise
    # The receipt's document as it is: its serializer (kept for the API description) only returns it.
    return Response(
        receipt.body(),
        status=status.HTTP_202_ACCEPTED,
        headers={"Location": order_url(receipt.order.id)},
    )


@schema.orders_schema
class OrderViewSet(ApiViewSet):
    """Notification orders: register them, read them back, follow their status and cancel them."""

    def create(self, request: Request) -> Response:
        """Register an order for Email, Sms, EmailPreferred, SmsPreferred or EmailAndSms."""
        return _register(request, NotificationOrderRequestSerializer)

    def create_email(self, request: Request) -> Response:
        """Register an order that sends one email to every recipient."""
        return _register(request, EmailNotificationOrderRequestSerializer)

    def create_sms(self, request: Request) -> Response:
        """Register an order that sends one SMS to every recipient (inside the daytime window)."""
        return _register(request, SmsNotificationOrderRequestSerializer)

    def list_by_senders_reference(self, request: Request) -> Response:
        """The caller's orders with exactly this sender's reference (200 with an empty list when none)."""
        reference = request.query_params.get("sendersReference")
        if reference is None:
            raise serializers.ValidationError({"sendersReference": [MSG_SENDERS_REFERENCE_REQUIRED]})
        orders = order_list(creator=creator_of(request), senders_reference=reference)
        return Response(NotificationOrderListSerializer({"count": len(orders), "orders": orders}).data)

    def retrieve(self, request: Request, id: str) -> Response:
        """The order with its recipients and templates as registered, and links to itself and its status."""
        order = order_get(order_id=_order_id(id), creator=creator_of(request))
        if order is None:
            return Response(status=status.HTTP_404_NOT_FOUND)
        return Response(NotificationOrderSerializer(order).data)

    def order_status(self, request: Request, id: str) -> Response:
        """The order's processing status and its notification counts per channel."""
        order = order_get_with_status(order_id=_order_id(id), creator=creator_of(request))
        if order is None:
            return Response(status=status.HTTP_404_NOT_FOUND)
        return Response(NotificationOrderWithStatusSerializer(order).data)

    def cancel(self, request: Request, id: str) -> Response:
        """Cancel the order if it is still cancellable."""
        order = order_cancel(order_id=_order_id(id), creator=creator_of(request))
        return Response(NotificationOrderWithStatusSerializer(order).data)


# As Django's GZipMiddleware reads Accept-Encoding (q-values are not weighed, as there).
_ACCEPTS_GZIP = re.compile(r"\bgzip\b")


def _notification_list(request: Request, id: str, channel: str) -> HttpResponse:
    # Rendered by PostgreSQL (see notification_lists); answered 304 from the rows' fingerprint when the
    # client has this version, and from the cache when a large list is unchanged since it was rendered.
    state = notification_list_state(order_id=_order_id(id), creator=creator_of(request), channel=channel)
    if state is None:
        return Response(status=status.HTTP_404_NOT_FOUND)
    etag = state.etag
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        # Weak comparison (RFC 9110 §13.1.2): the W/ prefix does not count; "*" matches any list.
        known = {tag.removeprefix("W/") for tag in parse_etags(if_none_match)}
        if "*" in known or etag.removeprefix("W/") in known:
            response = HttpResponse(status=status.HTTP_304_NOT_MODIFIED)
            response["ETag"] = etag
            patch_vary_headers(response, ["Accept-Encoding"])
            return response
    listing = notification_list(state, channel=channel)
    if _ACCEPTS_GZIP.search(request.headers.get("Accept-Encoding", "")):
        response = HttpResponse(listing.compressed(), content_type="application/json")
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(listing.body(), content_type="application/json")
    response["ETag"] = listing.etag
    response["Content-Length"] = str(len(response.content))
    patch_vary_headers(response, ["Accept-Encoding"])
    return response


@schema.order_notifications_schema
class OrderNotificationViewSet(ApiViewSet):
    """The notifications generated from an order, with the send status of each."""

    def email(self, request: Request, id: str) -> HttpResponse:
        """The order's email notifications in recipient order."""
        return _notification_list(request, id, "email")

    def sms(self, request: Request, id: str) -> HttpResponse:
        """The order's SMS notifications in recipient order."""
        return _notification_list(request, id, "sms")
