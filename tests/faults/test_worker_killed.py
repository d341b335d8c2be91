"""Workers killed with SIGKILL in the middle of a large order, again and again, lose and duplicate nothing.

One email order of 20,000 persons (half of them reserved, so 10,000 are sent) goes through the real
pipeline in a worker process (``tests.faults.worker``) against the test database, a contact-register
stand-in and an SMTP server, both on 127.0.0.1 in this process. The worker is killed at random points
while it looks the recipients up and while it sends batches, and started again each time. Afterwards
every notification has a final status, the order has exactly one notification per recipient, and the
only messages the SMTP server got twice are ones that were in flight (claimed, not yet recorded) at a
kill, with the same notification id.

``make soak`` runs it larger: ``FAULT_NOTIFICATIONS`` recipients and ``FAULT_KILLS`` kills in send batches.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
import uuid
from collections import Counter
from datetime import datetime
from functools import partial

import pytest
from django.db import connection
from django.utils import timezone

from orders.models import (
    EMAIL_PENDING_STATUSES,
    EmailNotification,
    EmailStatus,
    NotificationChannel,
    Order,
    OrderStatus,
    Recipient,
    SendingTimePolicy,
)
from templates.models import EmailTemplate
from tests.faults.support import Register, database_url, python, report, service_env, size, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
logger = logging.getLogger(__name__)

RECIPIENTS = size("FAULT_NOTIFICATIONS", 20_000)
CHUNK = 1_000
# Two register calls per chunk (contacts, names), each this slow: the lookups take at least 1.6 s, so a
# kill within 1 s of the claim always lands inside them.
REGISTER_DELAY = 0.04
PROCESSING_KILLS = 3
SENDING_KILLS = size("FAULT_KILLS", 5)
# The waits' bounds grow with the order (the sizes of `make test` keep the bounds they always had).
SCALE = max(1.0, RECIPIENTS / 20_000)
MESSAGE_ID = re.compile(rb"^Message-ID: <([0-9a-f-]{36})@", re.MULTILINE | re.IGNORECASE)


def nin(position: int) -> str:
    """The recipient's NIN: odd ones are reserved in the register, so half the order is never sent."""
    return f"{10_000_000_000 + position}"


def large_order() -> Order:
    order = Order.objects.create(
        creator="ttd",
        requested_send_time=timezone.now(),
        notification_channel=NotificationChannel.EMAIL,
        sending_time_policy=SendingTimePolicy.ANYTIME,
        email_template=EmailTemplate.objects.create(
            from_address="noreply@altinn.cloud",
            subject="Large order",
            body="To everyone.",
            content_type="Plain",
        ),
    )
    Recipient.objects.bulk_create(
        (
            Recipient(order=order, position=position, national_identity_number=nin(position))
            for position in range(RECIPIENTS)
        ),
        batch_size=5_000,
    )
    return order


def sending_ids(claimed_after: datetime | None = None) -> set[uuid.UUID]:
    rows = EmailNotification.objects.filter(status=EmailStatus.SENDING)
    if claimed_after is not None:
        rows = rows.filter(claimed_at__gt=claimed_after)
    return set(rows.values_list("id", flat=True))


def test_sigkilled_workers_lose_nothing_and_resend_only_what_was_in_flight(transactional_db, services, smtp):
    seed = int(os.environ.get("FAULTS_SEED", time.time_ns()))
    rng = random.Random(seed)
    with Register(delay=REGISTER_DELAY, reserve_odd=True) as register:
        order = large_order()
        env = service_env(
            DATABASE_URL=database_url(connection.settings_dict),
            NOTIFICATIONS_REGISTRY_BACKEND="http",
            NOTIFICATIONS_REGISTRY_URL=register.url,
            NOTIFICATIONS_PROCESSING_CHUNK_SIZE=str(CHUNK),
            # Short leases, so the work of a killed worker is taken over in seconds. The stuck-send time
            # keeps its default: the send lease alone must bring a killed worker's claims back, and the
            # live worker's heartbeat must keep its own through any slow batch.
            NOTIFICATIONS_PROCESSING_LEASE_SECONDS="2",
            NOTIFICATIONS_SEND_LEASE_SECONDS="3",
            NOTIFICATIONS_EMAIL_PROVIDER="smtp",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(smtp.port),
            NOTIFICATIONS_SEND_BATCH_SIZE="200",
        )
        worker = services("worker", python("-m", "tests.faults.worker"), env)
        kills: list[dict[str, object]] = []
        in_flight: set[uuid.UUID] = set()
        missed = 0  # kills that found no batch in flight (the worker was between batches)
        started = time.monotonic()

        # 1. Killed while looking the recipients up: nothing is written, the next worker starts over.
        for attempt in range(1, PROCESSING_KILLS + 1):
            worker.start()
            claimed = Order.objects.filter(
                id=order.id, status=OrderStatus.PROCESSING, processing_attempts=attempt
            )
            wait_for(f"claim {attempt} of the order", claimed.exists, timeout=60)
            time.sleep(rng.uniform(0.05, 1.0))  # a random point of the lookups, not a wait for a result
            worker.kill()
            order.refresh_from_db()
            assert order.status == OrderStatus.PROCESSING, f"seed {seed}: the kill missed the processing"
            assert not EmailNotification.objects.filter(order=order).exists()
            kills.append({"phase": "processing", "attempt": attempt})

        # 2. Killed in the middle of send batches: what was claimed and not yet recorded is in flight.
        worker.start()
        since: datetime | None = None
        while sum(kill["phase"] == "sending" for kill in kills) < SENDING_KILLS:
            wait_for("a send batch", partial(sending_ids, since), timeout=60, interval=0.02)
            time.sleep(rng.uniform(0.0, 0.5))  # a random point of the batch
            worker.kill()
            since = timezone.now()
            flying = sending_ids()
            if flying:
                # In flight at this kill: claimed and not recorded, and not already left by an earlier kill.
                kills.append({"phase": "sending", "in_flight": len(flying - in_flight)})
                in_flight |= flying
            else:
                missed += 1
            assert len(kills) < PROCESSING_KILLS + 3 * SENDING_KILLS, (
                f"seed {seed}: kills keep missing batches"
            )
            worker.start()

        # 3. Left alone, the last worker and a second one finish everything, the stuck sends included.
        helper = services("worker-2", python("-m", "tests.faults.worker"), env).start()
        wait_for(
            "the order to complete",
            lambda: Order.objects.filter(id=order.id, status=OrderStatus.COMPLETED).exists(),
            timeout=240 * SCALE,
            interval=0.5,
        )
        elapsed = time.monotonic() - started
        worker.stop()
        helper.stop()

    notifications = list(
        EmailNotification.objects.filter(order=order).values_list(
            "id", "recipient_position", "to_address", "status", "provider_reference"
        )
    )
    # The numbers first, so that a soak run that fails still says what it saw.
    per_destination = Counter(address for message in smtp.received for address in message.rcpt_tos)
    expected_addresses = {f"{nin(position)}@register.test" for position in range(0, RECIPIENTS, 2)}
    final_positions = {row[1] for row in notifications if row[3] not in EMAIL_PENDING_STATUSES}
    report(
        "worker_killed",
        seed=seed,
        notifications_placed=RECIPIENTS,
        notifications=len(notifications),
        final=len(final_positions),
        to_send=len(expected_addresses),
        delivered=sum(row[3] == EmailStatus.DELIVERED for row in notifications),
        # Lost: a recipient without a final notification, or an address due a message that never got one.
        lost=RECIPIENTS - len(final_positions) + len(expected_addresses - set(per_destination)),
        messages_received=len(smtp.received),
        duplicated_destinations=sum(count > 1 for count in per_destination.values()),
        extra_messages=sum(count - 1 for count in per_destination.values()),
        kills=kills,
        sigkills=len(kills) + missed,
        kills_between_batches=missed,
        in_flight=len(in_flight),
        seconds=round(elapsed, 1),
    )
    # Exactly one notification per recipient: no kill duplicated or lost a row. Every one is final: the
    # reserved half failed at generation, and with nothing else failing, the other half was delivered.
    assert len(notifications) == RECIPIENTS
    assert {row[1] for row in notifications} == set(range(RECIPIENTS))
    expected = {
        position: (f"{nin(position)}@register.test", EmailStatus.DELIVERED)
        if position % 2 == 0
        else ("", EmailStatus.FAILED_RECIPIENT_RESERVED)
        for position in range(RECIPIENTS)
    }
    assert {row[1]: (row[2], row[3]) for row in notifications} == expected, f"seed {seed}"
    by_id = {row[0]: row for row in notifications if row[3] == EmailStatus.DELIVERED}
    # The notification id is the provider reference (the Message-ID the server got).
    assert all(str(row[4]).startswith(f"{notification_id}@") for notification_id, row in by_id.items())

    received: Counter[uuid.UUID] = Counter()
    for message in smtp.received:
        match = MESSAGE_ID.search(message.data)
        assert match is not None, message.data[:500]
        notification_id = uuid.UUID(match.group(1).decode())
        # The message went to the address of the notification whose id it carries.
        assert message.rcpt_tos == [by_id[notification_id][2]]
        received[notification_id] += 1
    # Nothing lost: the server has every delivered notification, and nothing for a reserved recipient.
    assert set(received) == set(by_id)
    duplicates = {notification_id: count for notification_id, count in received.items() if count > 1}
    # Only messages in flight at a kill were handed over twice (never a third time for the same kill).
    assert set(duplicates) <= in_flight, f"seed {seed}: resent without being in flight"
    assert sum(count - 1 for count in duplicates.values()) <= len(in_flight)

    logger.warning(
        "worker kills: seed %d, %d kills survived (%d in processing, %d in send batches), %d notifications "
        "checked (%d sent), %d in flight at the kills, %d handed over twice, %.1fs",
        seed,
        len(kills),
        PROCESSING_KILLS,
        len(kills) - PROCESSING_KILLS,
        len(notifications),
        len(by_id),
        len(in_flight),
        len(duplicates),
        elapsed,
    )
