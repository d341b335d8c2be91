"""A cluster on one PostgreSQL and one Redis: nodes stopped and killed mid-run lose and duplicate nothing.

Every process type runs twice, each as a process group of its own, as on two machines: two web servers,
two processing workers (``-Q celery``), two sending workers (``-Q sending``) and two beats, against the
test database and one private Redis. Email goes to the SMTP test server, which keeps every message.
Orders adding up to 20,000 recipients are posted through both web servers. Meanwhile a processing worker
gets SIGKILL while an order is being processed, a sending worker gets SIGTERM in the middle of the
sending (the process manager's stop: it must finish its batch and exit on its own) and the other sending
worker gets SIGKILL in the middle of a batch; each is started again, as a process manager would.

At the end every order is Completed, every notification Delivered, each address has exactly one
notification, the SMTP server has a message for each, and the only addresses with a second message are
ones that were in flight at the SIGKILL (claimed by the killed worker, not yet recorded): the lease ran
out, the stuck-send sweep gave them back and they were sent again. The graceful stop leaves nothing in
flight: nothing of its batch is given back by the sweep.

``CLUSTER_ORDERS`` and ``CLUSTER_RECIPIENTS`` (per order) make the run smaller or larger.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count

from dispatch.models import AttemptOutcome, DeliveryAttempt
from notifications_project.launcher.processes import worker_command
from notifications_project.launcher.servers import free_port
from orders.models import EmailNotification, EmailStatus, Order, OrderStatus
from tests.faults.support import (
    ApiClient,
    Service,
    celery_beat,
    database_url,
    service_env,
    wait_for,
    web_server,
)

pytestmark = pytest.mark.django_db(transaction=True)
logger = logging.getLogger(__name__)

ORDERS = int(os.environ.get("CLUSTER_ORDERS", "20"))
# 20 x 1,000: 20,000 notifications. The SMTP test server takes about 90 messages a second on a busy 2-core
# machine, so the run takes about four minutes there; CLUSTER_RECIPIENTS=250 is a quicker run.
RECIPIENTS = int(os.environ.get("CLUSTER_RECIPIENTS", "1000"))
# Completion is waited for at no less than 30 notifications a second (two minutes at the least).
COMPLETION_TIMEOUT = max(120.0, ORDERS * RECIPIENTS / 30)
# How long the process manager waits before it starts a stopped or killed process again.
RESTART_DELAY = 1.0


def address(order: int, recipient: int) -> str:
    return f"o{order:03d}r{recipient:05d}@cluster.test"


def worker(queue: str, number: int) -> list[str]:
    """A production worker: the prefork pool (one pool process), one queue, a node name of its own."""
    return worker_command(
        "--queues",
        queue,
        "--concurrency",
        "1",
        "--hostname",
        f"{queue}-{number}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        loglevel="WARNING",
    )


def restart(process: Service) -> None:
    """What a process manager does with a process that exited: wait a moment, start it again."""
    if process.process is not None:
        process.process.wait(30)
    time.sleep(RESTART_DELAY)
    process.start()


def still_up(*processes: Service) -> None:
    for process in processes:
        assert process.alive, f"{process.name} died:\n{process.output()[-3000:]}"


def test_a_cluster_loses_and_duplicates_nothing_when_nodes_stop_and_die(
    transactional_db, services, redis, smtp, tmp_path: Path, jwks_file, make_token
):
    seed = int(os.environ.get("FAULTS_SEED", time.time_ns()))
    rng = random.Random(seed)
    env = service_env(
        DATABASE_URL=database_url(connection.settings_dict),
        CELERY_BROKER_URL=redis.url,
        NOTIFICATIONS_JWKS_FILE=str(jwks_file),
        NOTIFICATIONS_SWEEP_INTERVAL_SECONDS="1",
        NOTIFICATIONS_EMAIL_PROVIDER="smtp",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp.port),
        NOTIFICATIONS_SEND_BATCH_SIZE="100",
        # Short leases, so the work of a killed node is taken over within seconds. The send task keeps
        # its budget of minutes: a stopped worker must end its run itself, between two batches.
        NOTIFICATIONS_SEND_LEASE_SECONDS="3",
        NOTIFICATIONS_PROCESSING_LEASE_SECONDS="3",
    )
    ports = [free_port(), free_port()]
    webs = [services(f"web-{n}", web_server(port, env), env).start() for n, port in enumerate(ports, 1)]
    processing = [services(f"processing-{n}", worker("celery", n), env).start() for n in (1, 2)]
    sending = [services(f"sending-{n}", worker("sending", n), env).start() for n in (1, 2)]
    beats = [services(f"beat-{n}", celery_beat(tmp_path / f"beat-{n}"), env).start() for n in (1, 2)]
    everyone = [*webs, *processing, *sending, *beats]
    token = make_token()
    clients = [ApiClient(port, token) for port in ports]
    for client in clients:
        wait_for("the web servers", client.is_up, timeout=90)
    started = time.monotonic()

    def place(order: int) -> str:
        body = {
            "subject": "Cluster",
            "body": f"Order {order}.",
            "recipients": [{"emailAddress": address(order, n)} for n in range(RECIPIENTS)],
        }
        response = clients[order % 2].post("/orders/email", body)  # both web servers take orders
        assert response.status_code == 202, response.text
        return str(response.json()["orderId"])

    with ThreadPoolExecutor(max_workers=2) as posting:
        placing = [posting.submit(place, order) for order in range(ORDERS)]

        # 1. A processing worker dies while orders are being processed: an order it held is claimed again
        #    once its lease has run out, by the other worker or by this one started again.
        in_processing = Order.objects.filter(status=OrderStatus.PROCESSING)
        wait_for(
            "an order in processing",
            lambda: in_processing.exists() or all(future.done() for future in placing),
            timeout=120,
            interval=0.02,
        )
        processing_at_kill = in_processing.count()
        processing[0].kill()
        restart(processing[0])
        order_ids = [future.result() for future in placing]

    notifications = EmailNotification.objects.filter(order_id__in=order_ids)

    # 2. A sending worker is stopped (SIGTERM to its process group, as systemd and the launcher stop a
    #    process) in the middle of the sending: it finishes its batch, records it, and exits by itself.
    placed_at = time.monotonic() - started
    wait_for(
        "the sending to be under way",
        lambda: notifications.filter(status=EmailStatus.DELIVERED).count() >= ORDERS * RECIPIENTS // 5,
        timeout=120,
        interval=0.1,
    )
    claims_before_stop = set(
        notifications.filter(status=EmailStatus.SENDING).values_list("claim_id", flat=True)
    )
    stopping = time.monotonic()
    sending[0].signal(signal.SIGTERM)
    assert sending[0].process is not None
    sending[0].process.wait(30)
    stop_seconds = time.monotonic() - stopping
    assert sending[0].returncode == 0, sending[0].output()[-3000:]

    # 3. The other sending worker dies in the middle of a batch it claimed after the stop. Its partner is
    #    still down, so every claim now in Sending is the killed worker's: what it claimed and had not
    #    recorded is in flight. A claim from before the stop still in Sending would be the stopped
    #    worker's, left behind.
    fresh_batch = notifications.filter(status=EmailStatus.SENDING).exclude(claim_id__in=claims_before_stop)
    wait_for("a send batch after the stop", fresh_batch.exists, timeout=60, interval=0.02)
    time.sleep(rng.uniform(0.0, 0.3))  # a random point of the batch
    sending[1].kill()
    snapshot = list(
        notifications.filter(status=EmailStatus.SENDING).values_list("id", "claim_id", "claimed_at")
    )
    in_flight = {row[0]: row[2] for row in snapshot}
    assert not {row[1] for row in snapshot} & claims_before_stop, "the stopped worker left its batch behind"
    # The batch being sent and the next one, claimed ahead while it is sent (docs/sending.md).
    assert len({row[1] for row in snapshot}) <= 2
    restart(sending[0])
    restart(sending[1])

    def all_completed() -> bool:
        still_up(*everyone)
        return Order.objects.filter(id__in=order_ids, status=OrderStatus.COMPLETED).count() == ORDERS

    try:
        wait_for("every order to complete", all_completed, timeout=COMPLETION_TIMEOUT, interval=0.5)
    except AssertionError as timeout:
        statuses = Counter(notifications.values_list("status", flat=True))
        raise AssertionError(f"{timeout}; notifications: {dict(statuses)}, seed {seed}") from None
    elapsed = time.monotonic() - started

    # Every notification is final and delivered, one per address of the orders.
    expected = {address(order, n) for order in range(ORDERS) for n in range(RECIPIENTS)}
    rows = list(notifications.values_list("id", "to_address", "status"))
    assert len(rows) == ORDERS * RECIPIENTS
    assert {row[1] for row in rows} == expected
    assert Counter(row[2] for row in rows) == {EmailStatus.DELIVERED: ORDERS * RECIPIENTS}
    per_order = {
        str(order_id): count
        for order_id, count in notifications.order_by().values_list("order_id").annotate(count=Count("id"))
    }
    assert per_order == dict.fromkeys(order_ids, RECIPIENTS)

    # The SMTP server got every address; a second copy only of what was in flight at the SIGKILL.
    received: Counter[str] = Counter()
    for message in smtp.received:
        assert len(message.rcpt_tos) == 1, message.rcpt_tos
        received[message.rcpt_tos[0]] += 1
    assert set(received) == expected  # nothing lost
    by_address = {row[1]: row[0] for row in rows}
    duplicates = {item: count for item, count in received.items() if count > 1}
    assert {by_address[item] for item in duplicates} <= set(in_flight), f"seed {seed}: resent, not in flight"
    # At most one second copy; none when the kill came before the batch's first message (or while only
    # the batch claimed ahead, never handed to the server, was in Sending).
    assert max(duplicates.values(), default=1) <= 2
    # What the stuck-send sweep gave back was exactly those claims: the graceful stop left nothing behind.
    lost = set(
        DeliveryAttempt.objects.filter(
            notification_id__in=[row[0] for row in rows], outcome=AttemptOutcome.LOST
        ).values_list("notification_id", "started_at")
    )
    assert lost == set(in_flight.items()), f"seed {seed}"

    logger.warning(
        "cluster: seed %d, %d notifications in %d orders through 2 web servers, all delivered; %d order(s) "
        "in processing at the processing worker's SIGKILL; sending worker stopped by SIGTERM in %.1fs; "
        "%d in flight at the sending worker's SIGKILL, %d of them sent twice, none outside them; orders "
        "placed in %.1fs, all completed in %.1fs",
        seed,
        len(rows),
        ORDERS,
        processing_at_kill,
        stop_seconds,
        len(in_flight),
        len(duplicates),
        placed_at,
        elapsed,
    )
