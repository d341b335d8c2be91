"""Redis down: the API keeps accepting orders, and once Redis is back they are all sent, untouched by hand.

The service runs as in production, in its own processes against the test database: the web server, a Celery
worker and Celery beat, with a private Redis as the broker. Redis is killed while the worker is in the
middle of a send run (so its acknowledgement is lost too), orders are placed during the outage, and Redis
is started again, empty, on the same port. ``make soak`` makes the large order ``FAULT_REDIS_RECIPIENTS``
long.
"""

from __future__ import annotations

import logging
import time

import pytest
from django.db import connection

from notifications_project.launcher.servers import free_port
from orders.models import (
    EMAIL_PENDING_STATUSES,
    SMS_PENDING_STATUSES,
    EmailNotification,
    EmailStatus,
    Order,
    OrderStatus,
    SmsNotification,
    SmsStatus,
)
from tests.faults.support import (
    ApiClient,
    Service,
    celery_beat,
    celery_worker,
    database_url,
    report,
    service_env,
    size,
    wait_for,
    web_server,
)

pytestmark = pytest.mark.django_db(transaction=True)
logger = logging.getLogger(__name__)

LARGE_ORDER = size("FAULT_REDIS_RECIPIENTS", 500)  # recipients: a send run of batches, for Redis to die in
ORDERS_DURING_OUTAGE = 6


def still_up(*processes: Service) -> None:
    for process in processes:
        assert process.alive, f"{process.name} died:\n{process.output()[-3000:]}"


def test_orders_are_accepted_while_redis_is_down_and_sent_once_it_is_back(
    transactional_db, services, redis, tmp_path, jwks_file, make_token
):
    port = free_port()
    env = service_env(
        DATABASE_URL=database_url(connection.settings_dict),
        CELERY_BROKER_URL=redis.url,
        NOTIFICATIONS_JWKS_FILE=str(jwks_file),
        NOTIFICATIONS_SWEEP_INTERVAL_SECONDS="1",
        NOTIFICATIONS_EMAIL_PROVIDER="sandbox",
        NOTIFICATIONS_SMS_PROVIDER="sandbox",
        NOTIFICATIONS_SANDBOX_REPORT_DELAY_SECONDS="0.2",
        NOTIFICATIONS_SEND_BATCH_SIZE="50",
    )
    web = services("web", web_server(port, env), env).start()
    worker = services("worker", celery_worker(), env).start()
    beat = services("beat", celery_beat(tmp_path / "beat-schedule"), env).start()
    client = ApiClient(port, make_token())
    wait_for("the web server", client.is_up, timeout=60)

    # A large order goes the fast way (API, broker, worker); Redis dies while it is being sent.
    recipients = [{"mobileNumber": f"+4798{number:06d}"} for number in range(LARGE_ORDER)]
    large = client.post("/orders/sms", {"body": "Hei", "recipients": recipients})
    assert large.status_code == 202, large.text
    large_id = large.json()["orderId"]
    large_rows = SmsNotification.objects.filter(order_id=large_id)

    def sending() -> bool:
        """A send run is under way: a batch is out, or some rows are sent and others still wait."""
        return large_rows.filter(status=SmsStatus.SENDING).exists() or (
            large_rows.filter(status=SmsStatus.NEW).exists()
            and large_rows.exclude(status=SmsStatus.NEW).exists()
        )

    wait_for("the send run of the large order", sending, timeout=60, interval=0.02)
    logged = len(worker.output())
    redis.stop()
    down_at = time.monotonic()
    sent_before = large_rows.exclude(status__in=(SmsStatus.NEW, SmsStatus.SENDING)).count()
    sending_at_crash = large_rows.filter(status=SmsStatus.SENDING).count()

    order_ids = [large_id]
    for number in range(ORDERS_DURING_OUTAGE):
        if number % 2:
            response = client.post(
                "/orders/sms", {"body": "Hei", "recipients": [{"mobileNumber": f"+47999{number:05d}"}]}
            )
        else:
            response = client.post(
                "/orders/email",
                {
                    "subject": "Hei",
                    "body": "Hallo",
                    "recipients": [{"emailAddress": f"r{number}@example.no"}],
                },
            )
        assert response.status_code == 202, response.text
        order_ids.append(response.json()["orderId"])
    # The new orders wait in PostgreSQL, the only place that must have them.
    assert set(Order.objects.filter(id__in=order_ids[1:]).values_list("status", flat=True)) == {
        OrderStatus.REGISTERED
    }
    health = client.get("/health", absolute=True)
    checks = health.json()["checks"]
    assert (health.status_code, checks["database"], checks["broker"]) == (503, "up", "down")
    wait_for(
        "the worker to notice the outage",
        lambda: "connection to broker lost" in worker.output()[logged:].lower(),
        timeout=30,
    )

    redis.start()  # empty: every message published before the outage is gone
    outage = time.monotonic() - down_at

    def all_completed() -> bool:
        still_up(worker, beat, web)  # a worker that died would never finish: say so at once
        completed = Order.objects.filter(id__in=order_ids, status=OrderStatus.COMPLETED).count()
        return completed == len(order_ids)

    wait_for("every order to complete", all_completed, timeout=120 * max(1, LARGE_ORDER / 500), interval=0.2)
    emails = EmailNotification.objects.filter(order_id__in=order_ids)
    sms = SmsNotification.objects.filter(order_id__in=order_ids)
    statuses = [*emails.values_list("status", flat=True), *sms.values_list("status", flat=True)]
    pending = {*EMAIL_PENDING_STATUSES, *SMS_PENDING_STATUSES}
    final = sum(status not in pending for status in statuses)
    report(
        "redis_restart",
        notifications_placed=LARGE_ORDER + ORDERS_DURING_OUTAGE,
        notifications=len(statuses),
        final=final,
        delivered=sum(status in (EmailStatus.DELIVERED, SmsStatus.DELIVERED) for status in statuses),
        lost=LARGE_ORDER + ORDERS_DURING_OUTAGE - final,
        sent_when_redis_died=sent_before,
        in_a_batch_when_redis_died=sending_at_crash,
        orders_during_outage=ORDERS_DURING_OUTAGE,
        outage_seconds=round(outage, 1),
    )
    assert list(emails.values_list("status", flat=True)) == [EmailStatus.DELIVERED] * (
        ORDERS_DURING_OUTAGE // 2
    )
    assert set(sms.values_list("status", flat=True)) == {SmsStatus.DELIVERED}
    assert sms.count() == LARGE_ORDER + ORDERS_DURING_OUTAGE // 2
    logger.warning(
        "redis down: %d orders accepted during the outage, %d notifications checked, all delivered",
        ORDERS_DURING_OUTAGE,
        emails.count() + sms.count(),
    )
