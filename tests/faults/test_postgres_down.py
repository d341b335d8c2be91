"""PostgreSQL down: the API answers 503 problem details (never a 500 page), workers wait and then resume.

The suite's own PostgreSQL must stay up for the other tests, so this test starts a private one in its
temporary folder, migrates it and runs the web server, a Celery worker and Celery beat against it. Then it
crashes PostgreSQL (immediate shutdown), calls every v1 endpoint, and starts PostgreSQL again on the
same port. ``make soak`` also has an order of ``FAULT_POSTGRES_RECIPIENTS`` emails in its send run when
PostgreSQL crashes, and checks that every one of them ends final.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings

from notifications_project.launcher import BASE_DIR
from notifications_project.launcher.servers import free_port
from orders.models import EMAIL_PENDING_STATUSES, EmailNotification, EmailStatus
from tests.faults.support import (
    ApiClient,
    PrivatePostgres,
    Service,
    celery_beat,
    celery_worker,
    python,
    report,
    service_env,
    size,
    wait_for,
    web_server,
)

logger = logging.getLogger(__name__)

SWEEP_SECONDS = 1.0
SMS = {"body": "Hei", "recipients": [{"mobileNumber": "+4799999999"}]}
EMAIL = {"subject": "Hei", "body": "Hallo", "recipients": [{"emailAddress": "a@example.no"}]}
# Emails of an order in its send run when PostgreSQL crashes (`make soak`); none in `make test`.
SENDING_ORDER = size("FAULT_POSTGRES_RECIPIENTS", 0)


def still_up(*processes: Service) -> None:
    for process in processes:
        assert process.alive, f"{process.name} died:\n{process.output()[-3000:]}"


def email_statuses(database: str, order_id: str) -> Counter[str]:
    """The order's emails by status, read from the private PostgreSQL (not the suite's database)."""
    import psycopg

    table = EmailNotification._meta.db_table
    with psycopg.connect(database) as conn:
        rows = conn.execute(
            f"SELECT status, count(*) FROM {table} WHERE order_id = %s GROUP BY status",  # noqa: S608 - our table
            (order_id,),
        ).fetchall()
    return Counter({status: count for status, count in rows})


@pytest.fixture
def postgres_dir() -> Iterator[Path]:
    """A folder for PostgreSQL outside pytest's temporary tree: when PostgreSQL runs as its own user,
    that tree's private top folder (which any other pytest run may make private again) would lock it out."""
    path = Path(tempfile.mkdtemp(prefix="notifications-faults-"))
    yield path / "postgres"
    shutil.rmtree(path, ignore_errors=True)


def test_the_api_answers_503_while_postgresql_is_down_and_the_workers_resume_when_it_is_back(
    services, redis, tmp_path, postgres_dir, jwks_file, make_token
):
    with PrivatePostgres(postgres_dir) as postgres:
        env = service_env(
            DATABASE_URL=postgres.url,
            DATABASE_CONNECT_TIMEOUT="1",
            CELERY_BROKER_URL=redis.url,
            NOTIFICATIONS_JWKS_FILE=str(jwks_file),
            NOTIFICATIONS_SWEEP_INTERVAL_SECONDS=str(SWEEP_SECONDS),
            NOTIFICATIONS_EMAIL_PROVIDER="sandbox",
            NOTIFICATIONS_SMS_PROVIDER="sandbox",
            NOTIFICATIONS_SANDBOX_REPORT_DELAY_SECONDS="0.2",
            # Batches the crash can fall into, and a short lease, so the rows claimed at the crash come
            # back within seconds rather than a minute.
            **(
                {"NOTIFICATIONS_SEND_BATCH_SIZE": "50", "NOTIFICATIONS_SEND_LEASE_SECONDS": "3"}
                if SENDING_ORDER
                else {}
            ),
        )
        subprocess.run(python("manage.py", "migrate", "-v", "0"), env=env, cwd=BASE_DIR, check=True)
        port = free_port()
        web = services("web", web_server(port, env), env).start()
        worker = services("worker", celery_worker(), env).start()
        beat = services("beat", celery_beat(tmp_path / "beat-schedule"), env).start()
        client = ApiClient(port, make_token())
        wait_for("the web server", client.is_up, timeout=60)

        def status(order_id: str) -> str:
            response = client.get(f"/orders/{order_id}/status")
            assert response.status_code == 200, response.text
            return str(response.json()["processingStatus"]["status"])

        before = client.post("/orders/sms", SMS).json()["orderId"]
        wait_for(
            "the first order to complete", lambda: status(before) == "Completed", timeout=60, interval=0.2
        )
        sending_id = ""
        sent_before = sending_at_crash = 0
        if SENDING_ORDER:
            recipients = [{"emailAddress": f"r{number}@example.no"} for number in range(SENDING_ORDER)]
            sending = client.post("/orders/email", {**EMAIL, "recipients": recipients})
            assert sending.status_code == 202, sending.text
            sending_id = sending.json()["orderId"]

            def send_run_under_way() -> bool:
                statuses = email_statuses(postgres.url, sending_id)
                started = sum(count for status, count in statuses.items() if status != EmailStatus.NEW)
                return bool(statuses[EmailStatus.SENDING] or (statuses[EmailStatus.NEW] and started))

            wait_for("the send run of the large order", send_run_under_way, timeout=60, interval=0.02)
            at_crash = email_statuses(postgres.url, sending_id)
            sent_before = sum(at_crash.values()) - at_crash[EmailStatus.NEW] - at_crash[EmailStatus.SENDING]
            sending_at_crash = at_crash[EmailStatus.SENDING]
        # Due in a moment: its time comes while the database is down.
        send_time = datetime.now(UTC) + timedelta(seconds=2)
        due = client.post("/orders/email", {**EMAIL, "requestedSendTime": send_time.isoformat()})
        assert due.status_code == 202, due.text
        due_id = due.json()["orderId"]

        logged = len(worker.output())
        postgres.crash()
        down_at = time.monotonic()

        unknown = uuid.uuid4()
        calls = [
            ("POST", "/orders/sms", SMS),
            ("POST", "/orders/email", EMAIL),
            (
                "POST",
                "/orders",
                {
                    "notificationChannel": "Sms",
                    "recipients": SMS["recipients"],
                    "smsTemplate": {"body": "Hei"},
                },
            ),
            ("GET", f"/orders?sendersReference={unknown}", None),
            ("GET", f"/orders/{before}", None),
            ("GET", f"/orders/{before}/status", None),
            ("GET", f"/orders/{before}/notifications/sms", None),
            ("GET", f"/orders/{before}/notifications/email", None),
            ("GET", f"/orders/{unknown}", None),
            ("PUT", f"/orders/{due_id}/cancel", None),
        ]
        for method, path, body in calls:
            response = client.http.request(method, path, json=body)
            assert response.status_code == 503, (method, path, response.status_code, response.text[:500])
            assert response.headers["Content-Type"] == "application/problem+json", (method, path)
            assert response.json()["status"] == 503
            assert "Retry-After" in response.headers
        # A retried POST with an idempotency key fares the same.
        replay = client.post("/orders/sms", SMS, **{"Idempotency-Key": str(unknown)})
        assert (replay.status_code, replay.headers["Content-Type"]) == (503, "application/problem+json")
        health = client.get("/health", absolute=True)
        checks = health.json()["checks"]
        assert (health.status_code, checks["database"], checks["broker"]) == (503, "down", "up")

        # The worker's sweeps fail while the order falls due; it stays up and waits for the next tick.
        wait_for(
            "the worker's sweeps to fail on the database, past the order's send time",
            lambda: (
                datetime.now(UTC) > send_time + timedelta(seconds=SWEEP_SECONDS)
                and worker.output()[logged:].count("OperationalError") >= 3
            ),
            timeout=30,
            interval=0.2,
        )
        still_up(web, worker, beat)
        failures = worker.output()[logged:].count("raised unexpected")
        outage = time.monotonic() - down_at
        schedule = settings.CELERY_BEAT_SCHEDULE.values()
        sweeps = sum(1 for entry in schedule if entry["schedule"] == settings.NOTIFICATIONS_SWEEP_INTERVAL)
        # One failure per sweep and tick at most (plus the tick in progress): waiting, not spinning.
        assert 0 < failures <= (outage / SWEEP_SECONDS + 2) * sweeps + 2, (failures, outage, sweeps)

        postgres.start()

        wait_for("the due order to complete", lambda: status(due_id) == "Completed", timeout=60, interval=0.2)
        still_up(web, worker, beat)
        assert client.post("/orders/sms", SMS).status_code == 202
        if SENDING_ORDER:
            wait_for(
                "the order in its send run at the crash to complete",
                lambda: status(sending_id) == "Completed",
                timeout=60 + SENDING_ORDER / 20,
                interval=0.5,
            )
            statuses = email_statuses(postgres.url, sending_id)
            final = sum(count for state, count in statuses.items() if state not in EMAIL_PENDING_STATUSES)
            report(
                "postgres_restart",
                notifications_placed=SENDING_ORDER,
                notifications=sum(statuses.values()),
                final=final,
                delivered=statuses[EmailStatus.DELIVERED],
                lost=SENDING_ORDER - final,
                sent_when_postgres_crashed=sent_before,
                in_a_batch_when_postgres_crashed=sending_at_crash,
                endpoints_answering_503=len(calls) + 1,
                sweep_failures=failures,
                outage_seconds=round(outage, 1),
            )
            assert statuses == {EmailStatus.DELIVERED: SENDING_ORDER}, statuses
        logger.warning(
            "postgres down: %d endpoints answered 503 problem details; %d sweep failures in %.1fs; resumed",
            len(calls) + 1,
            failures,
            outage,
        )
