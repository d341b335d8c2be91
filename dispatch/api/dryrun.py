"""Dry runs of every order-creating request, under ``/notifications/api/v1/dry-run/``: the request is
validated exactly as the real endpoint validates it and answered with what it would become
(``dispatch.services.dryrun``), 200, with nothing stored or sent.

A path of its own rather than a ``?dryRun=true`` flag on the real endpoint: a misspelt, dropped or
proxy-stripped query parameter would otherwise register and send the order for real, to every
recipient; an unknown path only answers 404. The dry run lives on the pipeline's side because it runs
the pipeline's resolution and rendering; the orders app never imports the pipeline.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from dispatch.api import dryrun_schema as schema
from dispatch.services.dryrun import chain_dry_run, instant_dry_run, order_dry_run
from orders.api.base import ApiViewSet, json_body
from orders.api.future.base import FutureViewSet, request_body
from orders.api.future.serializers import (
    InstantEmailOrderRequestSerializer,
    InstantSmsOrderRequestSerializer,
    OrderChainRequestSerializer,
)
from orders.api.serializers import (
    EmailNotificationOrderRequestSerializer,
    NotificationOrderRequestSerializer,
    OrderRequestBaseSerializer,
    SmsNotificationOrderRequestSerializer,
)
from orders.api.views import TEMPLATE_PATHS


def _order(request: Request, serializer_class: type[OrderRequestBaseSerializer]) -> Response:
    # The Idempotency-Key header is not read: a dry run neither consumes a key nor replays one.
    # The request in the context: an order from a stored template reads it as the caller's.
    serializer = serializer_class(data=json_body(request, what="order"), context={"request": request})
    serializer.is_valid(raise_exception=True)
    return Response(
        order_dry_run(template_paths=TEMPLATE_PATHS[serializer_class], **serializer.validated_data)
    )


@schema.order_dry_run_schema
class OrderDryRunViewSet(ApiViewSet):
    """Dry runs of the v1 order registrations."""

    def create(self, request: Request) -> Response:
        """What POST /orders would do with this request."""
        return _order(request, NotificationOrderRequestSerializer)

    def create_email(self, request: Request) -> Response:
        """What POST /orders/email would do with this request."""
        return _order(request, EmailNotificationOrderRequestSerializer)

    def create_sms(self, request: Request) -> Response:
        """What POST /orders/sms would do with this request."""
        return _order(request, SmsNotificationOrderRequestSerializer)


@schema.future_dry_run_schema
class FutureDryRunViewSet(FutureViewSet):
    """Dry runs of the future API's order chains and instant orders."""

    def chain(self, request: Request) -> Response:
        """What POST /future/orders would do with this request (its idempotencyId is not looked at)."""
        serializer = OrderChainRequestSerializer(data=request_body(request), context={"request": request})
        serializer.is_valid(raise_exception=True)
        return Response(chain_dry_run(serializer.validated_data))

    def _instant(self, request: Request, serializer_class: type[Any]) -> Response:
        serializer = serializer_class(data=request_body(request), context={"request": request})
        serializer.is_valid(raise_exception=True)
        return Response(instant_dry_run(**serializer.validated_data))

    def instant_sms(self, request: Request) -> Response:
        """What POST /future/orders/instant/sms would send (nothing is sent)."""
        return self._instant(request, InstantSmsOrderRequestSerializer)

    def instant_email(self, request: Request) -> Response:
        """What POST /future/orders/instant/email would send (nothing is sent)."""
        return self._instant(request, InstantEmailOrderRequestSerializer)
