"""Request serializers of the v1 orders API (JSON in camelCase, as the reference).

They apply the reference's rules and messages (``orders.validation``) and report every error of a request
at once, keyed by JSON path (``recipients[0].mobileNumber``). ``requests`` holds the three order requests,
``recipients`` and ``templates`` their parts, ``base`` what the future API's serializers share with
them. The response serializers are in ``orders.api.output``.
"""

from __future__ import annotations

from orders.api.serializers.base import (
    CollectingSerializer,
    OmitNullSerializer,
    limit_length,
    max_length_of,
)
from orders.api.serializers.recipients import RecipientSerializer, RecipientsField
from orders.api.serializers.requests import (
    CHANNEL_VALUES,
    EmailNotificationOrderRequestSerializer,
    NotificationOrderRequestSerializer,
    OrderRequestBaseSerializer,
    SmsNotificationOrderRequestSerializer,
)
from orders.api.serializers.templates import (
    CONTENT_TYPE_VALUES,
    EmailTemplateSerializer,
    SmsTemplateSerializer,
)

__all__ = [
    "CHANNEL_VALUES",
    "CONTENT_TYPE_VALUES",
    "CollectingSerializer",
    "EmailNotificationOrderRequestSerializer",
    "EmailTemplateSerializer",
    "NotificationOrderRequestSerializer",
    "OmitNullSerializer",
    "OrderRequestBaseSerializer",
    "RecipientSerializer",
    "RecipientsField",
    "SmsNotificationOrderRequestSerializer",
    "SmsTemplateSerializer",
    "limit_length",
    "max_length_of",
]
