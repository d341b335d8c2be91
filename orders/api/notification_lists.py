"""The notification lists of an order (``GET /orders/{id}/notifications/email|sms``), rendered by PostgreSQL.

An order can have 100,000 notifications. Building one Python dict per row and encoding them took about
320 ms for 10,000 rows (model instances, DRF fields, ``json.dumps``); PostgreSQL builds the same JSON
array with ``json_agg`` in about a tenth of that, and Python only wraps it. The shape is exactly that of
:class:`~orders.api.output.EmailNotificationSummarySerializer` and
:class:`~orders.api.output.SmsNotificationSummarySerializer`, which stay the documented (OpenAPI) and
tested reference: the same keys in the same order, null recipient fields left out, ``servedRecipients``
only on a notification that serves more than one recipient, ``Failed_TTL`` sent
as ``Failed``, times in UTC with ``Z`` and microseconds only when there are any (Python's isoformat).

A list changes only when one of its notifications changes, so each answer carries an ``ETag`` made from a
fingerprint of the rows (count, latest status change and a hash of every row's id, status, change time,
address and served recipients), ``If-None-Match`` answers 304, and a large list's gzipped rendering is
cached under that fingerprint: computing it reads the order's rows once (a few milliseconds for 10,000)
instead of building and compressing the JSON again (about 40 ms).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.core.cache import cache
from django.db import connection

from orders.api.output import EMAIL_STATUS_DESCRIPTIONS, SMS_STATUS_DESCRIPTIONS
from orders.models import (
    EMAIL_SUCCESS_STATUSES,
    SMS_SUCCESS_STATUSES,
    EmailNotification,
    EmailStatus,
    Order,
    Recipient,
    SmsNotification,
    SmsStatus,
)

logger = logging.getLogger(__name__)

# Bumped whenever the rendering or the fingerprint changes, so no cache entry or client ETag of the old
# one still matches.
_FORMAT = "2"
# Lists shorter than this are rendered each time (cheap); longer ones are cached for this long.
CACHE_MIN_NOTIFICATIONS = 500
CACHE_SECONDS = 600
# Level 6 (gzip's default) is what a cached rendering is compressed with once; a short list rendered for
# one answer is compressed faster, at a few per cent more bytes.
_CACHED_LEVEL = 6
_LIVE_LEVEL = 1


@dataclass(frozen=True)
class _Channel:
    table: str
    address_column: str
    address_key: str
    # (status, status on the wire, description, counts as succeeded) for every status.
    statuses: list[tuple[str, str, str, bool]]


def _statuses(
    descriptions: dict[Any, str], succeeded: frozenset[str], ttl: str
) -> list[tuple[str, str, str, bool]]:
    return [
        (str(status), "Failed" if status == ttl else str(status), text, status in succeeded)
        for status, text in descriptions.items()
    ]


CHANNELS = {
    "email": _Channel(
        table=EmailNotification._meta.db_table,
        address_column="to_address",
        address_key="emailAddress",
        statuses=_statuses(EMAIL_STATUS_DESCRIPTIONS, EMAIL_SUCCESS_STATUSES, EmailStatus.FAILED_TTL),
    ),
    "sms": _Channel(
        table=SmsNotification._meta.db_table,
        address_column="mobile_number",
        address_key="mobileNumber",
        statuses=_statuses(SMS_STATUS_DESCRIPTIONS, SMS_SUCCESS_STATUSES, SmsStatus.FAILED_TTL),
    ),
}

# The timestamp as DRF writes it: isoformat() in UTC, "+00:00" as "Z", ".ffffff" only when non-zero.
_LAST_UPDATE = """
    to_char(n.status_changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
    || CASE WHEN extract(microseconds FROM n.status_changed_at)::int %% 1000000 <> 0
            THEN to_char(n.status_changed_at AT TIME ZONE 'UTC', '.US') ELSE '' END
    || 'Z'
"""


# The recipients a deduplicated notification serves, as registered, in recipient order.
_SERVED = f"""
    (SELECT json_agg(json_strip_nulls(json_build_object(
                'organizationNumber', r.organization_number,
                'nationalIdentityNumber', r.national_identity_number,
                'externalIdentity', r.external_identity,
                'emailAddress', r.email_address,
                'mobileNumber', r.mobile_number)) ORDER BY r.position)
       FROM {Recipient._meta.db_table} AS r
      WHERE r.order_id = n.order_id AND r.position = ANY(n.served_positions))
"""


def _fingerprint_columns(channel: _Channel) -> str:
    # Everything a row contributes that can change after generation; the recipient's identifiers cannot.
    # Each column is hashed by its type's own hash function (a different seed per column) and the row's
    # hashes combined with XOR: no text is built per row (casting the id and the time to text and
    # concatenating took most of the query), and the sum of bigints runs in a 128-bit accumulator where a
    # sum of numerics did not. The time is hashed as UTC, whatever the session's time zone.
    return f"""
           count(*) AS n_rows,
           (max(n.status_changed_at) AT TIME ZONE 'UTC')::text AS last_change,
           coalesce(sum(
               uuid_hash_extended(n.id, 1)
               # hashtextextended(n.status, 2)
               # timestamp_hash_extended(n.status_changed_at AT TIME ZONE 'UTC', 3)
               # hashtextextended(n.{channel.address_column}, 4)
               # coalesce(hash_array_extended(n.served_positions, 5), 0)
           ), 0)::text AS digest
    """


def _state_sql(channel: _Channel) -> str:
    # One round trip: the caller's order (creator-scoped) and the fingerprint of its rows.
    return f"""
    SELECT o.id, o.senders_reference, f.n_rows, f.last_change, f.digest
      FROM {Order._meta.db_table} AS o
      CROSS JOIN LATERAL (
          SELECT {_fingerprint_columns(channel)} FROM {channel.table} AS n WHERE n.order_id = o.id
      ) AS f
     WHERE o.id = %s AND o.creator = %s
    """


def _etag(order_id: UUID, channel: str, rows: int, last_change: str | None, digest: str) -> str:
    token = hashlib.blake2b(
        f"{_FORMAT}|{order_id}|{channel}|{rows}|{last_change}|{digest}".encode(), digest_size=16
    ).hexdigest()
    # Weak: the same list is sent gzipped or not, which a strong validator would have to tell apart.
    return f'W/"{token}"'


def _sql(channel: _Channel) -> str:
    # The statuses come in as parameters (unnest), so descriptions live in one place: output.py.
    # Ordered by recipient position, as the serializer path did; served by the (order, ...) indexes.
    fields = f"""
               'id', n.id,
               'succeeded', coalesce(s.succeeded, false),
               'recipient', json_strip_nulls(json_build_object(
                   'organizationNumber', n.recipient_organization_number,
                   'nationalIdentityNumber', n.recipient_national_identity_number,
                   '{channel.address_key}', nullif(n.{channel.address_column}, ''))),
               'sendStatus', json_build_object(
                   'status', coalesce(s.wire, n.status),
                   'description', s.description,
                   'lastUpdate', {_LAST_UPDATE})"""
    # servedRecipients only on a notification that serves more than one recipient (deduplication).
    return f"""
    SELECT {_fingerprint_columns(channel)},
           count(*) FILTER (WHERE s.succeeded),
           coalesce(json_agg(
               CASE WHEN n.served_positions IS NULL THEN json_build_object({fields})
                    ELSE json_build_object({fields}, 'servedRecipients', {_SERVED}) END
           ORDER BY n.recipient_position, n.created_at, n.id), '[]')::text
      FROM {channel.table} AS n
      LEFT JOIN unnest(%s::text[], %s::text[], %s::text[], %s::boolean[])
                AS s(status, wire, description, succeeded) ON s.status = n.status
     WHERE n.order_id = %s
    """


@dataclass(frozen=True)
class NotificationList:
    """A rendered list: its ETag and its JSON body, as it is (``plain``) and/or gzipped."""

    etag: str
    plain: bytes | None = None
    gzipped: bytes | None = None

    def body(self) -> bytes:
        if self.plain is not None:
            return self.plain
        assert self.gzipped is not None
        return gzip.decompress(self.gzipped)

    def compressed(self) -> bytes:
        if self.gzipped is not None:
            return self.gzipped
        return gzip.compress(self.body(), _LIVE_LEVEL, mtime=0)


@dataclass(frozen=True)
class ListState:
    """The caller's order as the list needs it, and the ETag its list has now."""

    order_id: UUID
    senders_reference: str | None
    etag: str


def notification_list_state(*, order_id: UUID, creator: str, channel: str) -> ListState | None:
    """The order's list state on ``channel``, or None when the caller has no such order. One query."""
    with connection.cursor() as cursor:
        cursor.execute(_state_sql(CHANNELS[channel]), [order_id, creator])
        found = cursor.fetchone()
    if found is None:
        return None
    order_id, senders_reference, rows, last_change, digest = found
    return ListState(order_id, senders_reference, _etag(order_id, channel, rows, last_change, digest))


def _cache_key(etag: str) -> str:
    return f"notification-list:{etag}"


def _cached(etag: str) -> bytes | None:
    try:
        value = cache.get(_cache_key(etag))
    except Exception:  # the cache is an optimisation: a Redis outage must not fail the read
        logger.warning("notification list cache unavailable", exc_info=True)
        return None
    return value if isinstance(value, bytes) else None


def _cache_store(etag: str, gzipped: bytes) -> None:
    try:
        cache.set(_cache_key(etag), gzipped, CACHE_SECONDS)
    except Exception:  # as above
        logger.warning("notification list cache unavailable", exc_info=True)


def notification_list(state: ListState, *, channel: str) -> NotificationList:
    """The order's list on ``channel`` ("email" / "sms"): cached under ``state.etag``, or rendered.

    A list rendered here carries the fingerprint of the rows it was rendered from, so a change since
    ``state`` was read can never file a rendering under the wrong ETag.
    """
    cached = _cached(state.etag)
    if cached is not None:
        return NotificationList(etag=state.etag, gzipped=cached)
    spec = CHANNELS[channel]
    columns = list(zip(*spec.statuses, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(_sql(spec), [list(column) for column in columns] + [state.order_id])
        generated, last_change, digest, succeeded, notifications = cursor.fetchone()
    head: dict[str, Any] = {"orderId": str(state.order_id)}
    if state.senders_reference is not None:
        head["sendersReference"] = state.senders_reference
    head.update(generated=generated, succeeded=succeeded)
    # The envelope is encoded by Python, the (large) array is spliced in as PostgreSQL rendered it.
    envelope = json.dumps(head, ensure_ascii=False)
    body = f'{envelope[:-1]}, "notifications": {notifications}}}'.encode()
    rendered_etag = _etag(state.order_id, channel, generated, last_change, digest)
    if generated < CACHE_MIN_NOTIFICATIONS:
        return NotificationList(etag=rendered_etag, plain=body)
    gzipped = gzip.compress(body, _CACHED_LEVEL, mtime=0)
    _cache_store(rendered_etag, gzipped)
    return NotificationList(etag=rendered_etag, plain=body, gzipped=gzipped)
