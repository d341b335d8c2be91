"""``POST /future/orders/instant/sms|email``: one message, sent while the client waits.

The request is validated by the orders app's serializers and answered like every future API request
(problem codes, receipt and Location); ``dispatch.services.instant`` stores and sends it. The OpenAPI
description of both operations is in ``dispatch.api.schema``.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from core.auth import creator_of
from dispatch.api import schema
from dispatch.services.instant import instant_order_send
from orders.api.future.base import FutureViewSet, receipt_response, request_body
from orders.api.future.serializers import InstantEmailOrderRequestSerializer, InstantSmsOrderRequestSerializer


@schema.instant_orders_schema
class InstantOrderViewSet(FutureViewSet):
    """Instant orders: one SMS or email, sent before the answer."""

    def _instant(self, request: Request, serializer_class: type[serializers.Serializer[Any]]) -> Response:
        data = request_body(request)
        serializer = serializer_class(data=data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        receipt = instant_order_send(creator=creator_of(request), raw=data, **serializer.validated_data)
        return receipt_response(receipt)

    def instant_sms(self, request: Request) -> Response:
        """Send one SMS synchronously."""
        return self._instant(request, InstantSmsOrderRequestSerializer)

    def instant_email(self, request: Request) -> Response:
        """Send one email synchronously."""
        return self._instant(request, InstantEmailOrderRequestSerializer)
