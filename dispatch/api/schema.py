"""OpenAPI metadata of the instant orders (``dispatch.api.instant``), in the future API's terms: its
shared answers, the ``Location`` of the chain, and the orders app's request and receipt components."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema

from core.openapi import ProblemSerializer, extend_schema_methods
from core.problems import PROBLEM_CONTENT_TYPE
from orders.api.future import examples
from orders.api.future.output import AltinnProblemSerializer, InstantOrderResponseSerializer
from orders.api.future.schema import BODY_ERRORS, COMMON, LOCATION
from orders.api.future.serializers import InstantEmailOrderRequestSerializer, InstantSmsOrderRequestSerializer

PROBLEM = PROBLEM_CONTENT_TYPE


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
        **BODY_ERRORS,
        **COMMON,
    }


instant_orders_schema = extend_schema_methods(
    instant_sms=extend_schema(
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
        parameters=[LOCATION],
        responses=_instant_responses(),
    ),
    instant_email=extend_schema(
        operation_id="future_orders_instant_email_create",
        summary="Send one email now",
        description="Sends one email to a known address while the client waits, through the configured "
        "email provider, and keeps it as an order of type Instant. If the provider does not take it the "
        "answer is 503 NOT-00004 and nothing is kept. Repeats with the same idempotencyId get the first "
        "receipt (200); while the first is still sending, 409 with Retry-After.",
        tags=["Instant orders"],
        request=InstantEmailOrderRequestSerializer,
        examples=examples.INSTANT_EMAIL_REQUESTS,
        parameters=[LOCATION],
        responses=_instant_responses(),
    ),
)
