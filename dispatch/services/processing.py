"""Order processing: from a Registered order to one notification per address.

Per order:

1. **Claim** it: one conditional UPDATE moves it to ``Processing``, bumps ``processing_attempts`` (the
   claim's fencing number) and sets ``next_attempt_at`` to the end of the claim's lease; it commits at
   once. Due orders are picked with ``FOR UPDATE SKIP LOCKED``, so workers claiming together never wait
   for or take each other's orders. A Processing order whose lease (or retry time) has passed is claimable
   again: that is how a worker that died mid-order is replaced.
2. **Send condition** (when ``conditionEndpoint`` is set), outside any transaction: not met → final
   ``SendConditionNotMet``; error → check again later, or send anyway after the configured checks.
3. **Look up and generate**, outside any transaction: recipients are read in chunks by position; each
   chunk's NINs and organization numbers are looked up in the contact registry in one call each, and
   its notification rows are spooled in COPY format. For an order with a ``resourceId``, organizations'
   person-tied contact points are added for the persons the authorization backend permits
   (``orders.authorization``). A registry or authorization outage schedules a retry with backoff.
4. **Commit** in one transaction: the fenced UPDATE of the order to ``Processed`` (or ``Completed`` when
   every notification failed at generation) and a COPY of all rows. The UPDATE only matches while this
   claim is still the order's latest, so a worker whose lease was taken over writes nothing, and the
   unique constraint on (order, recipient position, address) would refuse a second set of rows anyway.
5. After commit, the send task is enqueued (the send sweep is the safety net if the broker is down).

Failures (registry outage, a bug, a worker that keeps dying on the order) retry with capped backoff, but
not forever: retries never go past the order's *processing deadline*, the latest expiry any of its
notifications could have (``requestedSendTime`` + 48 h for email, the SMS rules for SMS). Once that has
passed, anything generated would expire unsent, so a claim after a failure ends the order instead:
``Completed`` with no notifications and the reason in ``processing_note``.

Every status move is a conditional UPDATE; a duplicate or late task message finds nothing to claim and
changes nothing. Cancelled orders are never claimed: cancelling is itself a conditional move from
``Registered``.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from dispatch.services.callback_outbox import callbacks_record_orders
from dispatch.services.conditions import (
    ConditionAction,
    condition_check,
    condition_decide,
)
from dispatch.services.expiry import email_expires_at, sms_expires_at
from dispatch.services.generation import (
    OrderGenerator,
    RecipientRow,
    lookup_numbers,
    recipient_resolve,
)
from dispatch.services.order_claims import Claim, ClaimLost, order_claim, order_claim_next, order_fenced
from dispatch.shutdown import stop_requested
from orders.authorization import get_authorization
from orders.authorization.base import AuthorizationUnavailable
from orders.authorization.recipients import organizations_with_permitted_contacts
from orders.feed import status_feed_record
from orders.models import NotificationChannel, Order, OrderStatus, Recipient
from orders.registry import get_registry, get_user_contact_registry
from orders.registry.base import ContactRegistry, RegistryUnavailable

logger = logging.getLogger(__name__)

SEND_TASK = "dispatch.notifications_send"


def processing_deadline(order: Order) -> datetime:
    """The latest expiry a notification of this order could have: processing it later sends nothing."""
    send_time = order.requested_send_time
    expiries = []
    # Preferred channels may fall back to the other channel, so they count both.
    if order.notification_channel != NotificationChannel.SMS:
        expiries.append(email_expires_at(send_time))
    if order.notification_channel != NotificationChannel.EMAIL:
        expiries.append(sms_expires_at(send_time, order.sending_time_policy))
    return max(expiries)


def _retry_later(claim: Claim, *, at: datetime, note: str, **fields: Any) -> None:
    """Leave the order Processing with a retry time; the due-order sweep claims it again then.

    The retry is never later than the processing deadline, so the claim that gives up comes on time.
    """
    order = Order.objects.only("requested_send_time", "notification_channel", "sending_time_policy").get(
        id=claim.order_id
    )
    at = min(at, processing_deadline(order))
    now = timezone.now()
    order_fenced(claim).update(next_attempt_at=at, processing_note=note, updated_at=now, **fields)
    logger.info("order processing postponed: %s", note, extra={"order_id": str(claim.order_id)})


def _give_up(claim: Claim, *, deadline: datetime, last_note: str) -> None:
    """End an order that could not be processed before its deadline: Completed, without notifications."""
    now = timezone.now()
    note = (
        f"Processing gave up after {claim.attempt - 1} attempt(s): every notification would have expired "
        f"by {deadline.isoformat()}."
    )
    if last_note:
        note += f" Last failure: {last_note}"
    with transaction.atomic():
        ended = order_fenced(claim).update(
            status=OrderStatus.COMPLETED,
            status_changed_at=now,
            next_attempt_at=None,
            processing_note=note,
            updated_at=now,
        )
        if ended:
            status_feed_record(order_ids=[claim.order_id])
            callbacks_record_orders(order_ids=[claim.order_id])
    logger.warning("order processing given up: %s", note, extra={"order_id": str(claim.order_id)})


def _registry_backoff(attempt: int) -> timedelta:
    """Exponential backoff for failed processing, capped; retried until the processing deadline."""
    base: timedelta = settings.NOTIFICATIONS_REGISTRY_RETRY_DELAY
    cap: timedelta = settings.NOTIFICATIONS_REGISTRY_RETRY_MAX_DELAY
    return min(cap, base * (1 << min(max(attempt - 1, 0), 20)))


def _recipient_chunks(order_id: uuid.UUID, size: int) -> Iterator[list[RecipientRow]]:
    """The order's recipients by position, ``size`` at a time (keyset pagination on the unique index)."""
    # One plain statement per chunk, read by psycopg straight into tuples: the ORM's values_list costs
    # about a tenth of a large order's generation.
    # RecipientRow's fields are the table's column names.
    quote = connection.ops.quote_name
    sql = (
        f"SELECT {', '.join(map(quote, RecipientRow._fields))} FROM {quote(Recipient._meta.db_table)}"
        " WHERE order_id = %s AND position > %s ORDER BY position LIMIT %s"
    )
    make = RecipientRow._make
    last = -1
    while True:
        with connection.cursor() as cursor:
            cursor.execute(sql, [order_id, last, size])
            rows = list(map(make, cursor.fetchall()))
        if not rows:
            return
        yield rows
        if len(rows) < size:
            return  # the last chunk: asking again would only find nothing (a round trip per small order)
        last = rows[-1].position


class _Lease:
    """Keeps the claim's lease ahead of a long lookup, and notices when the claim was taken over."""

    def __init__(self, claim: Claim) -> None:
        self.claim = claim
        self.lease: timedelta = settings.NOTIFICATIONS_PROCESSING_LEASE
        self._renewed = time.monotonic()

    def renew_if_due(self) -> None:
        if time.monotonic() - self._renewed < self.lease.total_seconds() / 4:
            return
        until = timezone.now() + self.lease
        if not order_fenced(self.claim).update(next_attempt_at=until):
            raise ClaimLost
        self._renewed = time.monotonic()


def _generate(order: Order, claim: Claim, registry: ContactRegistry, now: datetime) -> OrderGenerator:
    """Resolve every recipient and spool its notification rows (no transaction is open during this)."""
    generator = OrderGenerator(order, now=now)
    lease = _Lease(claim)
    try:
        for rows in _recipient_chunks(order.id, settings.NOTIFICATIONS_PROCESSING_CHUNK_SIZE):
            nins, orgnos, usernames = lookup_numbers(rows)
            persons = registry.persons(nins) if nins else {}
            organizations = registry.organizations(orgnos) if orgnos else {}
            if order.resource_id and orgnos:
                # Persons' contact points for the organizations, narrowed to those authorized.
                organizations = organizations_with_permitted_contacts(
                    organizations,
                    orgnos,
                    resource_id=order.resource_id,
                    resource_action=order.resource_action,
                    registry=get_user_contact_registry(),
                    authorization=get_authorization(),
                )
            identities = registry.external_identities(usernames) if usernames else {}
            generator.add_rows(
                rows,
                partial(
                    recipient_resolve,
                    persons=persons,
                    organizations=organizations,
                    identities=identities,
                    ignore_reservation=bool(order.ignore_reservation),
                ),
            )
            lease.renew_if_due()
    except BaseException:
        generator.close()
        raise
    return generator


def _enqueue_send() -> None:
    """Ask a worker to send the new notifications now; if the broker is down, the send sweep will."""
    try:
        current_app.send_task(SEND_TASK)
    except Exception:  # any broker error: the rows are committed and the sweep finds them by status
        logger.warning("could not enqueue %s; the send sweep will pick the notifications up", SEND_TASK)


def _commit(
    claim: Claim, generator: OrderGenerator, *, note: str, failed_checks: int, callbacks: bool
) -> None:
    """Move the order on and insert all its notifications, in one transaction."""
    now = timezone.now()
    status = OrderStatus.PROCESSED if generator.counts.new else OrderStatus.COMPLETED
    with transaction.atomic():
        # The fenced UPDATE comes first: it locks the order, so a worker that took the claim over
        # cannot also get here, and if the claim is no longer ours nothing is inserted.
        moved = order_fenced(claim).update(
            status=status,
            status_changed_at=now,
            next_attempt_at=None,
            processing_note=note,
            condition_checks_failed=failed_checks,
            updated_at=now,
        )
        if not moved:
            raise ClaimLost
        rows = generator.copy_into()
        if callbacks:
            # Callbacks for notifications born final (reserved, no address), and for the order if done.
            callbacks_record_orders(order_ids=[claim.order_id], notifications=True)
        if status == OrderStatus.COMPLETED:
            status_feed_record(order_ids=[claim.order_id])
        if generator.counts.new:
            transaction.on_commit(_enqueue_send)
    logger.info(
        "order %s: %d notification(s), %d failed at generation",
        status,
        rows,
        generator.counts.failed,
        extra={"order_id": str(claim.order_id)},
    )


def _process_claimed(claim: Claim) -> None:
    order = Order.objects.select_related("email_template", "sms_template").get(id=claim.order_id)
    deadline = processing_deadline(order)
    # A re-claim past the deadline follows failures (a retry, or a lease left by a dead worker); a first
    # claim past it is processed, and its notifications end as Failed_TTL like any expired ones.
    if claim.attempt > 1 and timezone.now() >= deadline:
        _give_up(claim, deadline=deadline, last_note=order.processing_note)
        return
    notes: list[str] = []
    failed_checks = order.condition_checks_failed
    if order.condition_endpoint:
        # A network call: we hold no transaction and no lock here, only the committed claim.
        decision = condition_decide(
            check=condition_check(url=order.condition_endpoint),
            failed_checks=failed_checks,
            now=timezone.now(),
        )
        failed_checks = decision.failed_checks
        if decision.action is ConditionAction.STOP:
            now = timezone.now()
            with transaction.atomic():
                stopped = order_fenced(claim).update(
                    status=OrderStatus.SEND_CONDITION_NOT_MET,
                    status_changed_at=now,
                    next_attempt_at=None,
                    processing_note=decision.note,
                    condition_checks_failed=failed_checks,
                    updated_at=now,
                )
                if stopped:
                    status_feed_record(order_ids=[order.id])
                    callbacks_record_orders(order_ids=[order.id])
            logger.info("send condition not met", extra={"order_id": str(order.id)})
            return
        if decision.action is ConditionAction.RETRY:
            assert decision.retry_at is not None
            _retry_later(
                claim, at=decision.retry_at, note=decision.note, condition_checks_failed=failed_checks
            )
            return
        if decision.note:
            notes.append(decision.note)

    now = timezone.now()
    try:
        generator = _generate(order, claim, get_registry(), now)
    except (RegistryUnavailable, AuthorizationUnavailable) as exc:
        retry_at = min(timezone.now() + _registry_backoff(claim.attempt), deadline)
        service = "contact registry" if isinstance(exc, RegistryUnavailable) else "authorization service"
        _retry_later(
            claim,
            at=retry_at,
            note=f"The {service} is unavailable ({exc}); retrying at {retry_at.isoformat()}.",
            condition_checks_failed=failed_checks,
        )
        return
    try:
        if missing := generator.missing_channels_note():
            notes.append(missing)
        _commit(
            claim,
            generator,
            note=" ".join(notes),
            failed_checks=failed_checks,
            # An order's callback URL is set when it is registered: without one there is nothing to ask.
            callbacks=bool(order.status_callback_url),
        )
    finally:
        generator.close()


def order_process_claimed(claim: Claim) -> None:
    """Process an order this worker has claimed; a claim taken over meanwhile ends quietly."""
    try:
        _process_claimed(claim)
    except ClaimLost:
        logger.warning("order claim taken over by another worker", extra={"order_id": str(claim.order_id)})
    except Exception as exc:
        # Unexpected: keep the order and retry it later with backoff, with the reason visible in the admin.
        retry_at = timezone.now() + _registry_backoff(claim.attempt)
        _retry_later(
            claim, at=retry_at, note=f"Processing failed ({exc.__class__.__name__}: {exc}); retrying."
        )
        raise


def order_process_if_due(*, order_id: uuid.UUID) -> bool:
    """Process one order now if it is due and not taken; False when it was not (or is unknown).

    Safe to call any number of times: an order that is not due, is held by another worker, or has moved
    on is left as it is. The pipeline's fast path after registration: no read of the order afterwards.
    """
    claim = order_claim(order_id=order_id)
    if claim is None:
        return False
    order_process_claimed(claim)
    return True


def order_process(*, order_id: uuid.UUID) -> Order:
    """:func:`order_process_if_due`, then the order as it stands (Order.DoesNotExist for an unknown id)."""
    order_process_if_due(order_id=order_id)
    return Order.objects.get(id=order_id)


def orders_process_due(*, limit: int = 100, budget_seconds: float = 60.0) -> int:
    """Claim and process due orders one at a time until none is due, ``limit`` is reached or time is up.

    Returns the number of orders processed. Several workers may run this at once; each order is claimed
    by exactly one of them.
    """
    started = time.monotonic()
    processed = 0
    # A worker asked to stop (SIGTERM) finishes the order in hand and claims no other.
    while processed < limit and time.monotonic() - started < budget_seconds and not stop_requested():
        claim = order_claim_next()
        if claim is None:
            break
        try:
            order_process_claimed(claim)
        except Exception:
            # Recorded on the order by order_process_claimed; go on with the other orders.
            logger.exception("order processing failed", extra={"order_id": str(claim.order_id)})
        processed += 1
    return processed
