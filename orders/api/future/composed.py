"""``POST /future/orders/composed-email``: one email with attachments, registered like an order chain.

Only the composed email scope allows it (``core.auth.HasComposedEmailScope``). The request is validated
by ``orders.api.future.serializers.composed`` and stored by ``orders.composed``; the attachments are
fetched when the email is sent. The OpenAPI description is in ``orders.api.future.composed_schema``.
"""

from __future__ import annotations

import dataclasses

from rest_framework.request import Request
from rest_framework.response import Response

from core.auth import HasComposedEmailScope, creator_of
from orders.api.future.base import FutureViewSet, receipt_response, request_body
from orders.api.future.composed_schema import composed_email_schema
from orders.api.future.serializers.composed import ComposedEmailOrderRequestSerializer
from orders.composed import ComposedEmailRequest, composed_email_create


@composed_email_schema
class ComposedEmailViewSet(FutureViewSet):
    """Composed emails: one email with attachments to one address."""

    permission_classes = [HasComposedEmailScope]

    def create(self, request: Request) -> Response:
        """Register a composed email, or answer a repeat with the first receipt."""
        data = request_body(request)
        serializer = ComposedEmailOrderRequestSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        validated: ComposedEmailRequest = serializer.validated_data
        composed = dataclasses.replace(validated, raw=data)
        return receipt_response(composed_email_create(creator=creator_of(request), request=composed))
