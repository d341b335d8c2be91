"""Status callbacks on the wire: the JSON bodies and their HMAC-SHA256 signature header.

Every callback is a ``POST`` of a JSON body with::

    X-Notifications-Signature: t=1767225600,v1=5f2b…[,v1=…]

``v1`` is ``hex(HMAC-SHA256(secret, f"{t}." + body))`` over the exact bytes of the body, keyed with the
creator's secret. During a rotation a second ``v1`` is signed with the previous secret, so a receiver that
still holds the old one keeps verifying. :func:`signature_verify` is what a receiver does
(docs/pipeline.md shows it as a stand-alone snippet).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from orders.api.output import (
    EMAIL_STATUS_DESCRIPTIONS,
    ORDER_STATUS_DESCRIPTIONS,
    SMS_STATUS_DESCRIPTIONS,
)
from orders.models import (
    EMAIL_SUCCESS_STATUSES,
    SMS_SUCCESS_STATUSES,
    EmailStatus,
    OrderStatus,
    SmsStatus,
)

SIGNATURE_HEADER = "X-Notifications-Signature"
EVENT_ID_HEADER = "X-Notifications-Event-Id"
# A receiver should refuse a signature older than this (replays); docs/pipeline.md recommends the same.
DEFAULT_TOLERANCE_SECONDS = 300


def _timestamp(value: datetime) -> str:
    # The API's format: ISO 8601 in UTC with "Z".
    return value.isoformat().replace("+00:00", "Z")


def notification_payload(
    *,
    event_id: str,
    channel: str,
    row: Mapping[str, Any],
    senders_reference: str | None,
) -> dict[str, Any]:
    """The body of a ``notification.status`` event, shaped like a notification of the v1 API.

    ``row`` holds the notification's id, order_id, status, status_changed_at, address and the recipient's
    identifiers, as read in the transaction that recorded the status.
    """
    email = channel == "Email"
    status = row["status"]
    if email:
        description = EMAIL_STATUS_DESCRIPTIONS.get(EmailStatus(status), "")
        succeeded = status in EMAIL_SUCCESS_STATUSES
        ttl = status == EmailStatus.FAILED_TTL
    else:
        description = SMS_STATUS_DESCRIPTIONS.get(SmsStatus(status), "")
        succeeded = status in SMS_SUCCESS_STATUSES
        ttl = status == SmsStatus.FAILED_TTL
    recipient = {
        "organizationNumber": row.get("recipient_organization_number"),
        "nationalIdentityNumber": row.get("recipient_national_identity_number"),
        ("emailAddress" if email else "mobileNumber"): row.get("address") or None,
    }
    body: dict[str, Any] = {
        "id": event_id,
        "type": "notification.status",
        "orderId": str(row["order_id"]),
        "sendersReference": senders_reference,
        "channel": channel,
        "notification": {
            "id": str(row["id"]),
            "succeeded": succeeded,
            "recipient": {key: value for key, value in recipient.items() if value},
            "sendStatus": {
                # Failed_TTL goes out as "Failed" with the TTL description, as everywhere in the API.
                "status": "Failed" if ttl else status,
                "description": description,
                "lastUpdate": _timestamp(row["status_changed_at"]),
            },
        },
    }
    if senders_reference is None:
        del body["sendersReference"]
    return body


def order_payload(*, event_id: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """The body of an ``order.status`` event: the order reached Completed or SendConditionNotMet."""
    body: dict[str, Any] = {
        "id": event_id,
        "type": "order.status",
        "orderId": str(row["id"]),
        "sendersReference": row.get("senders_reference"),
        "processingStatus": {
            "status": row["status"],
            "description": ORDER_STATUS_DESCRIPTIONS.get(OrderStatus(row["status"]), ""),
            "lastUpdate": _timestamp(row["status_changed_at"]),
        },
    }
    if body["sendersReference"] is None:
        del body["sendersReference"]
    return body


def body_bytes(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes that are signed and sent."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secrets: Sequence[str], body: bytes, *, timestamp: int | None = None) -> str:
    """``t=<unix seconds>,v1=<hex>`` with one ``v1`` per secret, the newest first."""
    when = int(time.time()) if timestamp is None else timestamp
    return ",".join([f"t={when}", *(f"v1={signature(secret, when, body)}" for secret in secrets)])


def signature_verify(
    header: str,
    body: bytes,
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True when one ``v1`` of ``header`` is the signature of ``body`` with ``secret``, made recently."""
    parts = [item.split("=", 1) for item in header.split(",") if "=" in item]
    stamps = [value for key, value in parts if key.strip() == "t"]
    if len(stamps) != 1 or not stamps[0].strip().isdigit():
        return False
    timestamp = int(stamps[0])
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, value.strip()) for key, value in parts if key.strip() == "v1")
