"""Request serializers of the future API: the reference's rules and messages (§1.6.1, §1.8).

As in v1, every error of a request is reported at once under the JSON path of its field
(``reminders[0].recipient.recipientPerson.emailSettings``), field errors and cross-field rules together,
and wrong JSON types are refused rather than coerced. ``validate`` turns each request into the plain
dataclasses the services take.
"""

from __future__ import annotations

from orders.api.future.serializers.requests import (
    InstantEmailOrderRequestSerializer,
    InstantSmsOrderRequestSerializer,
    OrderChainRequestSerializer,
)

__all__ = [
    "InstantEmailOrderRequestSerializer",
    "InstantSmsOrderRequestSerializer",
    "OrderChainRequestSerializer",
]
