"""OpenAPI metadata of the support lookups (``orders.api.future.support``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from core.openapi import ValidationProblemSerializer, access_problems, extend_schema_methods
from core.problems import PROBLEM_CONTENT_TYPE
from orders.support import MAX_PAGE_SIZE

PROBLEM = PROBLEM_CONTENT_TYPE
MSG_FORBIDDEN = "The token lacks the scope altinn:notifications.support.admin."


class SupportDeliveryAttemptSerializer(serializers.Serializer[Any]):
    nationalIdentityNumber = serializers.CharField(required=False, help_text="The NIN lookup's person.")
    organizationNumber = serializers.CharField(required=False, help_text="The organization looked up.")
    channel = serializers.ChoiceField(["email", "sms"])
    emailAddress = serializers.CharField(required=False)
    mobileNumber = serializers.CharField(required=False)
    result = serializers.CharField(help_text="The notification's status (the v1 result names).")
    resultTime = serializers.DateTimeField(help_text="When the notification entered that status.")


class SupportShipmentSerializer(serializers.Serializer[Any]):
    shipmentId = serializers.UUIDField(help_text="The order id.")
    creatorName = serializers.CharField(help_text="The organisation that placed the order.")
    resourceId = serializers.CharField(required=False)
    sendersReference = serializers.CharField(required=False)
    requestedSendTime = serializers.DateTimeField()
    notificationChannel = serializers.CharField()
    notificationType = serializers.ChoiceField(["Notification", "Reminder", "Instant"])
    deliveryAttempts = SupportDeliveryAttemptSerializer(many=True)


_EXAMPLE = [
    {
        "shipmentId": "f1a1cc30-197f-4f34-8304-006ce4945fd1",
        "creatorName": "ttd",
        "sendersReference": "ref-1",
        "requestedSendTime": "2026-03-02T08:00:00Z",
        "notificationChannel": "EmailPreferred",
        "notificationType": "Notification",
        "deliveryAttempts": [
            {
                "nationalIdentityNumber": "11876995923",
                "channel": "email",
                "emailAddress": "person@example.no",
                "result": "Delivered",
                "resultTime": "2026-03-02T08:00:09Z",
            }
        ],
    }
]


def _operation(operation_id: str, header: str, what: str, example_id: str) -> Any:
    return extend_schema(
        operation_id=operation_id,
        summary=f"Every notification sent to {what} in a period (support)",
        description=f"For support staff (scope `altinn:notifications.support.admin`): the shipments of "
        f"every creator with a notification to the {what} named in the `{header}` header (never in the "
        "URL), whose requested send time is in [`from`, `to`), newest first, with each notification's "
        "channel, destination, result and its time. Every call is written to the audit log with the "
        "caller and the identifier.\n\nDifferences from the service this one replaces: the period is at "
        f"most 31 days, and the answer is paged (`pageSize`, default 100, at most {MAX_PAGE_SIZE}); the "
        'next page is the `Link: <...>; rel="next"` header, absent on the last page.',
        tags=["Support"],
        parameters=[
            OpenApiParameter(
                header,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description=f"The {what}'s identifier.",
                examples=[OpenApiExample("Identifier", value=example_id)],
            ),
            OpenApiParameter(
                "from",
                OpenApiTypes.DATETIME,
                OpenApiParameter.QUERY,
                description="UTC (Z); default 7 days ago; not in the future, not over 10 years ago.",
            ),
            OpenApiParameter(
                "to",
                OpenApiTypes.DATETIME,
                OpenApiParameter.QUERY,
                description="UTC (Z), after `from`, at most 31 days after it; default now.",
            ),
            OpenApiParameter(
                "pageSize",
                {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
                OpenApiParameter.QUERY,
                description="Shipments per page (default 100).",
            ),
            OpenApiParameter(
                "cursor",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                description="Set by the next link; not to be built by hand.",
            ),
            OpenApiParameter(
                "Link",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                response=[200],
                description='The next page: `<url>; rel="next"`; absent on the last page.',
            ),
        ],
        responses={
            200: OpenApiResponse(
                SupportShipmentSerializer(many=True),
                "The shipments, newest first.",
                examples=[OpenApiExample("A shipment", value=_EXAMPLE)],
            ),
            (400, PROBLEM): OpenApiResponse(
                ValidationProblemSerializer,
                f"The {header} header is missing or invalid, or from/to/pageSize/cursor is; `errors` "
                "names it.",
            ),
            **access_problems(forbidden=MSG_FORBIDDEN),
        },
    )


support_schema = extend_schema_methods(
    by_nin=_operation(
        "future_dashboard_notifications_by_nin", "NationalIdentityNumber", "person", "11876995923"
    ),
    by_organization_number=_operation(
        "future_dashboard_notifications_by_orgnumber", "OrganizationNumber", "organization", "311000179"
    ),
)
