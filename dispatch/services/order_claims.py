"""Order claims: a worker takes a due order with one committed, conditional UPDATE (see
:mod:`dispatch.services.processing`, step 1), and fences every later write of the order on that claim."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from orders.models import Order, OrderStatus


class ClaimLost(Exception):
    """Another worker took the order over (our lease ran out); stop without writing anything."""


@dataclass(frozen=True)
class Claim:
    order_id: uuid.UUID
    attempt: int  # processing_attempts after our claim: the fencing number of our writes


_ORDER = Order._meta.db_table
_CLAIM_SET = f"""
    UPDATE {_ORDER} AS o
       SET status = 'Processing',
           status_changed_at = CASE WHEN o.status = 'Registered' THEN %(now)s ELSE o.status_changed_at END,
           processing_attempts = o.processing_attempts + 1,
           next_attempt_at = %(lease_until)s,
           updated_at = %(now)s
"""
# Orders due now: Registered at or past their send time, or Processing past their retry time or lease.
# The status test is repeated outside the sub-select: a row picked there may have moved before we lock it.
_CLAIMABLE = """
    ((o.status = 'Registered' AND o.requested_send_time <= %(now)s)
     OR (o.status = 'Processing' AND o.next_attempt_at <= %(now)s))
"""
_CLAIM_NEXT_SQL = [
    _CLAIM_SET
    + f"""
     WHERE o.id = (SELECT id FROM {_ORDER}
                    WHERE status = 'Processing' AND next_attempt_at <= %(now)s
                    ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED)
       AND {_CLAIMABLE}
    RETURNING o.id, o.processing_attempts""",
    _CLAIM_SET
    + f"""
     WHERE o.id = (SELECT id FROM {_ORDER}
                    WHERE status = 'Registered' AND requested_send_time <= %(now)s
                    ORDER BY requested_send_time, id LIMIT 1 FOR UPDATE SKIP LOCKED)
       AND {_CLAIMABLE}
    RETURNING o.id, o.processing_attempts""",
]
_CLAIM_ONE_SQL = (
    _CLAIM_SET
    + f"""
     WHERE o.id = %(order_id)s AND {_CLAIMABLE}
    RETURNING o.id, o.processing_attempts"""
)


def _claim(sql: str, params: dict[str, Any]) -> Claim | None:
    now = timezone.now()
    params = {**params, "now": now, "lease_until": now + settings.NOTIFICATIONS_PROCESSING_LEASE}
    # One statement in autocommit: as atomic as BEGIN ... COMMIT around it, and two round trips fewer.
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return Claim(order_id=row[0], attempt=row[1]) if row else None


def order_claim(*, order_id: uuid.UUID) -> Claim | None:
    """Claim this order if it is due; None when it is not (not yet due, already claimed, done, cancelled)."""
    return _claim(_CLAIM_ONE_SQL, {"order_id": order_id})


def order_claim_next() -> Claim | None:
    """Claim one due order, skipping orders other workers hold; None when no order is due."""
    for sql in _CLAIM_NEXT_SQL:
        claim = _claim(sql, {})
        if claim is not None:
            return claim
    return None


def order_fenced(claim: Claim) -> QuerySet[Order]:
    """The claimed order, only while this claim is still its latest and it is still Processing."""
    return Order.objects.filter(
        id=claim.order_id, status=OrderStatus.PROCESSING, processing_attempts=claim.attempt
    )
