"""The future API: thin viewsets over orders.chains, orders.feed and the selectors.

Everything is scoped to the caller's creator: another creator's chain or shipment answers exactly like
an unknown id. Errors with one of the reference's codes (NOT-00001, NOT-00003, NOT-00004) are problem
details with ``type: urn:altinn:error:NOT-0000x`` and ``code``. The OpenAPI description of each
operation is in ``orders.api.future.schema``; the instant orders are served by ``dispatch.api``, which
sends them.
"""

from __future__ import annotations

import dataclasses
import re
from uuid import UUID

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from core.auth import creator_of
from core.problem_codes import SHIPMENT_NOT_FOUND
from orders.api.future import schema
from orders.api.future.base import FutureViewSet, receipt_response, request_body
from orders.api.future.output import OrderChainSerializer, StatusFeedEntrySerializer, delivery_manifest
from orders.api.future.serializers import OrderChainRequestSerializer
from orders.chain_cancel import ChainNotFound, chain_cancel, chain_reminder_cancel
from orders.chains import AltinnProblem, ChainRequest, chain_create
from orders.feed import MAX_PAGE_SIZE, status_feed_list
from orders.selectors import order_chain_get, shipment_get

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
    title = SHIPMENT_NOT_FOUND.title
    code = SHIPMENT_NOT_FOUND.code


def _uuid(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise serializers.ValidationError({"id": [MSG_INVALID_ID]}) from None


@schema.future_orders_schema
class FutureOrderViewSet(FutureViewSet):
    """Order chains: a notification with its reminders."""

    def create(self, request: Request) -> Response:
        """Register an order chain, or answer a repeat with the first receipt."""
        data = request_body(request)
        serializer = OrderChainRequestSerializer(data=data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        chain: ChainRequest = serializer.validated_data
        chain = dataclasses.replace(chain, raw=data)
        return receipt_response(chain_create(creator=creator_of(request), request=chain))

    def chain(self, request: Request, id: str) -> Response:
        """The chain with its shipments and their status."""
        chain = order_chain_get(chain_id=_uuid(id), creator=creator_of(request))
        if chain is None or not chain.orders.all():
            raise ChainNotFound("No order chain with this id was found.")
        return Response(OrderChainSerializer(chain).data)

    def cancel(self, request: Request, id: str) -> Response:
        """Cancel the chain's notification and every reminder not yet processed."""
        chain = chain_cancel(chain_id=_uuid(id), creator=creator_of(request))
        return Response(OrderChainSerializer(chain).data)

    def cancel_reminder(self, request: Request, id: str, shipment_id: str) -> Response:
        """Cancel one reminder of the chain."""
        chain_id = _uuid(id)
        try:
            reminder_id = UUID(shipment_id)
        except ValueError:
            raise serializers.ValidationError({"shipmentId": [MSG_INVALID_ID]}) from None
        chain = chain_reminder_cancel(chain_id=chain_id, shipment_id=reminder_id, creator=creator_of(request))
        return Response(OrderChainSerializer(chain).data)


@schema.shipments_schema
class ShipmentViewSet(FutureViewSet):
    """Shipments (orders of any kind) and the feed of finished ones."""

    def retrieve(self, request: Request, id: str) -> Response:
        """The shipment with every notification's destination and status."""
        shipment = shipment_get(order_id=_uuid(id), creator=creator_of(request))
        if shipment is None:
            raise ShipmentNotFound("No shipment with this id was found.")
        return Response(delivery_manifest(shipment.order, shipment.emails, shipment.sms))

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
