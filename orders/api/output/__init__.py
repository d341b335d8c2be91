"""Response serializers of the v1 orders API: camelCase, null fields omitted, enums as strings.

``statuses`` holds the reference's status descriptions, ``orders`` the receipt and the order views,
``notifications`` the notification lists. The problem-details serializers are ``core.openapi``'s.
"""

from __future__ import annotations

from orders.api.output.notifications import (
    EmailNotificationSummarySerializer,
    EmailNotificationWithResultSerializer,
    SmsNotificationSummarySerializer,
    SmsNotificationWithResultSerializer,
)
from orders.api.output.orders import (
    API_PATH,
    SMS_PART_COUNT_HELP,
    NotificationOrderListSerializer,
    NotificationOrderRequestResponseSerializer,
    NotificationOrderSerializer,
    NotificationOrderWithStatusSerializer,
    RecipientLookupResultSerializer,
    order_url,
    timestamp,
)
from orders.api.output.statuses import (
    EMAIL_STATUS_DESCRIPTIONS,
    EMAIL_WIRE_STATUSES,
    ORDER_STATUS_DESCRIPTIONS,
    SMS_STATUS_DESCRIPTIONS,
    SMS_WIRE_STATUSES,
    TTL_STATUSES,
)

__all__ = [
    "API_PATH",
    "EMAIL_STATUS_DESCRIPTIONS",
    "EMAIL_WIRE_STATUSES",
    "ORDER_STATUS_DESCRIPTIONS",
    "SMS_PART_COUNT_HELP",
    "SMS_STATUS_DESCRIPTIONS",
    "SMS_WIRE_STATUSES",
    "TTL_STATUSES",
    "EmailNotificationSummarySerializer",
    "EmailNotificationWithResultSerializer",
    "NotificationOrderListSerializer",
    "NotificationOrderRequestResponseSerializer",
    "NotificationOrderSerializer",
    "NotificationOrderWithStatusSerializer",
    "RecipientLookupResultSerializer",
    "SmsNotificationSummarySerializer",
    "SmsNotificationWithResultSerializer",
    "order_url",
    "timestamp",
]
