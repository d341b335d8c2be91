"""Support lookups (``GET /future/dashboard/recipients/notifications/nin`` and ``.../orgnumber``).

The identifier travels in a header (``NationalIdentityNumber`` / ``OrganizationNumber``), never in the
URL, so it stays out of access logs and browser histories; ``from``/``to`` (UTC) bound the period by the
orders' requested send time. The body is the reference's list of shipments; pages beyond the first are
linked from a ``Link: <...>; rel="next"`` header (the reference returns everything at once).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from core.auth import IsSupportAdmin, ServiceOwner
from orders import validation
from orders.api.base import ApiViewSet
from orders.api.future import support_schema
from orders.api.output import API_PATH
from orders.audit import AuditOutcome
from orders.support import (
    MAX_PAGE_SIZE,
    Cursor,
    IdentifierKind,
    SupportPage,
    support_lookup_audit,
    support_notifications_list,
)

# The reference's defaults and bounds of the period.
DEFAULT_PERIOD = timedelta(days=7)
OLDEST = timedelta(days=3652)  # "10 years"
# Ours: the reference has no bound on the span (ten years of one organization's notifications in one
# answer); a lookup covers at most this much, and is paged.
MAX_SPAN = timedelta(days=31)
DEFAULT_PAGE_SIZE = 100

NIN_HEADER = "NationalIdentityNumber"
ORGANIZATION_NUMBER_HEADER = "OrganizationNumber"

MSG_FROM_NOT_UTC = "The 'from' value must be UTC."
MSG_TO_NOT_UTC = "The 'to' value must be UTC."
MSG_FROM_NOT_BEFORE_TO = "'from' must be earlier than 'to'."
MSG_FROM_IN_FUTURE = "'from' must not be in the future."
MSG_FROM_TOO_OLD = "'from' must not be earlier than 10 years ago."
MSG_TO_IN_FUTURE = "'to' must not be in the future."
MSG_TO_BEFORE_DEFAULT_FROM = "'to' must be later than the default 'from' (7 days ago)."
MSG_SPAN_TOO_LONG = f"The period from 'from' to 'to' must be at most {MAX_SPAN.days} days."
MSG_NOT_A_TIME = (
    "The '{name}' value must be a date and time in ISO 8601 format, in UTC (for example {example})."
)
MSG_PAGE_SIZE = f"pageSize must be a whole number from 1 to {MAX_PAGE_SIZE}."
MSG_CURSOR = "The cursor is not one this service handed out; use the next link as it is."
MSG_HEADER_REQUIRED = "'{header}' is required and cannot be empty"


def _utc(raw: str | None, name: str, errors: dict[str, list[str]]) -> datetime | None:
    if raw is None or raw == "":
        return None
    try:
        value = parse_datetime(raw)
    except ValueError:
        value = None
    if value is None:
        errors[name] = [MSG_NOT_A_TIME.format(name=name, example="2026-01-31T12:00:00Z")]
        return None
    if value.utcoffset() != timedelta(0):
        errors[name] = [MSG_FROM_NOT_UTC if name == "from" else MSG_TO_NOT_UTC]
        return None
    return value


def _page_size(raw: str | None, errors: dict[str, list[str]]) -> int:
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        errors["pageSize"] = [MSG_PAGE_SIZE]
        return DEFAULT_PAGE_SIZE
    return int(raw)


def _encode_cursor(cursor: Cursor) -> str:
    raw = f"{cursor.requested_send_time.isoformat()}|{cursor.order_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(raw: str | None, errors: dict[str, list[str]]) -> Cursor | None:
    if not raw:
        return None
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        when, _, order_id = text.partition("|")
        moment = parse_datetime(when)
        if moment is None or moment.tzinfo is None:
            raise ValueError(when)
        return Cursor(moment, uuid.UUID(order_id))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        errors["cursor"] = [MSG_CURSOR]
        return None


def _period(
    params: Any, errors: dict[str, list[str]], now: datetime
) -> tuple[datetime | None, datetime | None]:
    """``from`` and ``to`` as the reference checks them, plus our bound on the span."""
    start = _utc(params.get("from"), "from", errors)
    end = _utc(params.get("to"), "to", errors)
    if errors:
        return None, None
    default_start = now - DEFAULT_PERIOD
    if start is not None:
        if end is not None and start >= end:
            errors.setdefault("from", []).append(MSG_FROM_NOT_BEFORE_TO)
        if start > now:
            errors.setdefault("from", []).append(MSG_FROM_IN_FUTURE)
        if start < now - OLDEST:
            errors.setdefault("from", []).append(MSG_FROM_TOO_OLD)
    if end is not None:
        if end > now:
            errors.setdefault("to", []).append(MSG_TO_IN_FUTURE)
        if start is None and end <= default_start:
            errors.setdefault("to", []).append(MSG_TO_BEFORE_DEFAULT_FROM)
    start = start or default_start
    end = end or now
    if not errors and end - start > MAX_SPAN:
        errors["to"] = [MSG_SPAN_TOO_LONG]
    return start, end


def _caller(request: Request) -> str:
    user = request.user
    assert isinstance(user, ServiceOwner)
    return f"token org={user.org or '-'} sub={user.subject or '-'}"


def _attempt(kind: IdentifierKind, identifier: str, attempt: Any) -> dict[str, Any]:
    body: dict[str, Any] = (
        {"nationalIdentityNumber": identifier}
        if kind is IdentifierKind.NIN
        else {"organizationNumber": identifier}
    )
    body["channel"] = attempt.channel
    if attempt.destination:
        body["emailAddress" if attempt.channel == "email" else "mobileNumber"] = attempt.destination
    body["result"] = attempt.status
    body["resultTime"] = attempt.status_changed_at.isoformat().replace("+00:00", "Z")
    return body


def _body(kind: IdentifierKind, identifier: str, page: SupportPage) -> list[dict[str, Any]]:
    return [
        _without_nulls(
            {
                "shipmentId": str(shipment.order.id),
                "creatorName": shipment.order.creator,
                "resourceId": shipment.order.resource_id,
                "sendersReference": shipment.order.senders_reference,
                "requestedSendTime": shipment.order.requested_send_time.isoformat().replace("+00:00", "Z"),
                "notificationChannel": shipment.order.notification_channel,
                "notificationType": shipment.order.type,
                "deliveryAttempts": [_attempt(kind, identifier, attempt) for attempt in shipment.attempts],
            }
        )
        for shipment in page.shipments
    ]


def _without_nulls(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def _next_link(path: str, start: datetime, end: datetime, page_size: int, cursor: Cursor) -> str:
    query = urlencode(
        {
            "from": start.isoformat().replace("+00:00", "Z"),
            "to": end.isoformat().replace("+00:00", "Z"),
            "pageSize": page_size,
            "cursor": _encode_cursor(cursor),
        }
    )
    return f'<{settings.NOTIFICATIONS_BASE_URI}{API_PATH}{path}?{query}>; rel="next"'


@support_schema.support_schema
class SupportLookupViewSet(ApiViewSet):
    """A person's or an organization's notifications, across creators, for support staff."""

    permission_classes = [IsSupportAdmin]

    def by_nin(self, request: Request) -> Response:
        """Every notification to the person in the NationalIdentityNumber header in the period."""
        return self._lookup(
            request, IdentifierKind.NIN, NIN_HEADER, "/future/dashboard/recipients/notifications/nin"
        )

    def by_organization_number(self, request: Request) -> Response:
        """Every notification to the organization in the OrganizationNumber header in the period."""
        return self._lookup(
            request,
            IdentifierKind.ORGANIZATION_NUMBER,
            ORGANIZATION_NUMBER_HEADER,
            "/future/dashboard/recipients/notifications/orgnumber",
        )

    def _lookup(self, request: Request, kind: IdentifierKind, header: str, path: str) -> Response:
        errors: dict[str, list[str]] = {}
        identifier = request.headers.get(header)
        if not identifier:
            errors[header] = [MSG_HEADER_REQUIRED.format(header=header)]
        elif kind is IdentifierKind.NIN and not validation.is_valid_nin(identifier):
            errors[header] = [validation.MSG_INVALID_NIN]
        elif kind is IdentifierKind.ORGANIZATION_NUMBER and not validation.is_valid_organization_number(
            identifier
        ):
            errors[header] = [validation.MSG_INVALID_ORGANIZATION_NUMBER]
        params = request.query_params
        start, end = _period(params, errors, timezone.now())
        page_size = _page_size(params.get("pageSize"), errors)
        cursor = _decode_cursor(params.get("cursor"), errors)
        if errors:
            support_lookup_audit(
                caller=_caller(request),
                kind=kind,
                identifier=identifier if header not in errors else None,
                start=start,
                end=end,
                outcome=AuditOutcome.REFUSED,
                reason="; ".join(sorted(errors)),
            )
            raise serializers.ValidationError(errors)
        assert identifier is not None
        assert start is not None
        assert end is not None
        page = support_notifications_list(
            kind=kind, identifier=identifier, start=start, end=end, page_size=page_size, cursor=cursor
        )
        support_lookup_audit(
            caller=_caller(request),
            kind=kind,
            identifier=identifier,
            start=start,
            end=end,
            outcome=AuditOutcome.DONE,
            shipments=len(page.shipments),
        )
        response = Response(_body(kind, identifier, page))
        if page.next_cursor is not None:
            response["Link"] = _next_link(path, start, end, page_size, page.next_cursor)
        return response
