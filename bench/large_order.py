"""Benchmark order processing: `python bench/large_order.py [--recipients 100000] [--kind person]`.

Registers one due order with many recipients, then times the whole pipeline for it (claim, recipient
reads, registry lookups, rendering, the bulk COPY and the order's status move, all through
``order_process``) and, in the same run on the same table, a plain COPY of exactly the rows the
pipeline generated. Prints both rates, their ratio and the worker's memory growth while processing.

Uses ``DATABASE_URL`` when it is set (the script migrates that database and leaves a benchmark order in
it); otherwise it starts a private PostgreSQL in a temporary folder, with fsync on as in production, and
removes it afterwards.

Recipient kinds: ``address`` (a mobile number or email address per recipient, no lookup), ``person``
(a national identity number looked up in the database registry, name substituted into the text) and
``organization`` (organization numbers with two addresses each, so twice the rows).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRss:
    """Samples the resident set size every few milliseconds while a block runs."""

    def __init__(self) -> None:
        self.start = self.peak = 0
        self._stop = threading.Event()

    def __enter__(self) -> PeakRss:
        self.start = self.peak = _rss_bytes()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss_bytes())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / 1e6


def _copy_in(sql: str, data: bytes) -> None:
    from django.db import connection

    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        copy.write(data)


def setup_order(
    recipients: int,
    kind: str,
    channel: str,
    *,
    sending_time_policy: str = "Anytime",
    requested_send_time: datetime | None = None,
) -> object:
    """An order with `recipients` recipients (and their registry entries), bulk-loaded; due now unless
    `requested_send_time` says otherwise."""
    from django.db import transaction
    from django.utils import timezone

    from orders.models import Order, Organization, OrganizationContact, Person
    from templates.models import EmailTemplate, SmsTemplate

    body = "Hei $recipientName$! Du har en ny melding i innboksen din hos Altinn."
    with transaction.atomic():
        order = Order.objects.create(
            creator="bench",
            requested_send_time=requested_send_time or timezone.now(),
            notification_channel=channel,
            sending_time_policy=sending_time_policy,
            sms_template=SmsTemplate.objects.create(sender_number="Altinn", body=body)
            if channel != "Email"
            else None,
            email_template=EmailTemplate.objects.create(
                from_address="noreply@altinn.cloud", subject="Ny melding til $recipientName$", body=body
            )
            if channel != "Sms"
            else None,
        )
        lines = io.StringIO()
        for n in range(recipients):
            if kind == "address":
                mobile, email, nin, orgno = f"+4799{n:06d}", f"r{n}@example.no", "\\N", "\\N"
            elif kind == "person":
                mobile, email, nin, orgno = "\\N", "\\N", f"{10000000000 + n:011d}", "\\N"
            else:
                mobile, email, nin, orgno = "\\N", "\\N", "\\N", f"{800000000 + n:09d}"
            lines.write(f"{order.id}\t{n}\t{email}\t{mobile}\t{orgno}\t{nin}\n")
        _copy_in(
            "COPY orders_recipient (order_id, position, email_address, mobile_number, "
            "organization_number, national_identity_number) FROM STDIN",
            lines.getvalue().encode(),
        )
        if kind == "person" and not Person.objects.filter(national_identity_number="10000000000").exists():
            Person.objects.bulk_create(
                (
                    Person(
                        national_identity_number=f"{10000000000 + n:011d}",
                        name=f"Person {n}",
                        mobile_number=f"+4799{n:06d}",
                        email_address=f"p{n}@example.no",
                    )
                    for n in range(recipients)
                ),
                batch_size=5000,
            )
        if (
            kind == "organization"
            and not Organization.objects.filter(organization_number="800000000").exists()
        ):
            organizations = Organization.objects.bulk_create(
                (
                    Organization(organization_number=f"{800000000 + n:09d}", name=f"Bedrift {n} AS")
                    for n in range(recipients)
                ),
                batch_size=5000,
            )
            OrganizationContact.objects.bulk_create(
                (
                    OrganizationContact(organization=org, kind=kind_, address=address)
                    for n, org in enumerate(organizations)
                    for kind_, address in (
                        ("sms", f"+4798{n:06d}"),
                        ("sms", f"+4797{n:06d}"),
                        ("email", f"post{n}@bedrift.example.no"),
                        ("email", f"varsel{n}@bedrift.example.no"),
                    )
                ),
                batch_size=5000,
            )
    return order


def plain_copy_seconds(order_id: object, tables: list[str]) -> float:
    """Seconds a plain COPY takes to insert exactly the rows the order has, into the same tables.

    The rows are read out as bytes, deleted (then the tables vacuumed) and COPYed back in one
    transaction, so the table ends as it began: the rate the database itself allows for these rows.
    """
    from django.db import connection, transaction

    dumps: list[tuple[str, bytes]] = []
    with connection.cursor() as cursor:
        for table in tables:
            data = bytearray()
            with cursor.cursor.copy(
                f"COPY (SELECT * FROM {table} WHERE order_id = %s) TO STDOUT", [order_id]
            ) as out:
                for block in out:
                    data += block
            dumps.append((table, bytes(data)))
        for table in tables:
            cursor.execute(f"DELETE FROM {table} WHERE order_id = %s", [order_id])
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")
    started = time.perf_counter()
    with transaction.atomic():
        for table, data in dumps:
            _copy_in(f"COPY {table} FROM STDIN", data)
    return time.perf_counter() - started


def run(recipients: int, kind: str, channel: str, repeat: int) -> None:
    import django

    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ["DJANGO_SETTINGS_MODULE"] = "notifications_project.settings"
    django.setup()

    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from dispatch.services import processing
    from dispatch.services.processing import order_process
    from notifications_project.celery import app as celery_app
    from orders.models import EmailNotification, Order, OrderStatus, SmsNotification

    # The broker is not part of this measurement (and may not be running).
    celery_app.send_task = lambda *args, **kwargs: None  # type: ignore[method-assign]
    lookup_seconds = [0.0]

    class TimedRegistry:
        """The configured registry, with the time spent in its lookups added up."""

        def __init__(self, registry: object) -> None:
            self.registry = registry

        def __getattr__(self, name: str) -> object:
            method = getattr(self.registry, name)

            def timed(*args: object) -> object:
                started = time.perf_counter()
                try:
                    return method(*args)
                finally:
                    lookup_seconds[0] += time.perf_counter() - started

            return timed

    configured = processing.get_registry
    processing.get_registry = lambda: TimedRegistry(configured())  # type: ignore[assignment,return-value]
    call_command("migrate", verbosity=0)
    order = setup_order(recipients, kind, channel)
    tables = [
        model._meta.db_table
        for model, used in ((EmailNotification, channel != "Sms"), (SmsNotification, channel != "Email"))
        if used
    ]

    def vacuum() -> None:
        with connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"VACUUM ANALYZE {table}")

    def reset() -> None:
        for model in (EmailNotification, SmsNotification):
            model.objects.filter(order_id=order.id).delete()
        Order.objects.filter(id=order.id).update(
            status=OrderStatus.REGISTERED, requested_send_time=timezone.now(), next_attempt_at=None
        )
        vacuum()

    print(f"PostgreSQL at {os.environ.get('DATABASE_URL')}")
    print(f"order with {recipients:,} {kind} recipients, channel {channel}")
    pipeline_rates, copy_rates, growth, lookups = [], [], [], []
    for _ in range(repeat):
        reset()
        lookup_seconds[0] = 0.0
        with PeakRss() as rss:
            started = time.perf_counter()
            processed = order_process(order_id=order.id)
            pipeline_seconds = time.perf_counter() - started
        assert processed.status == OrderStatus.PROCESSED, processed.processing_note
        rows = sum(m.objects.filter(order_id=order.id).count() for m in (EmailNotification, SmsNotification))

        copy_seconds = plain_copy_seconds(order.id, tables)

        pipeline_rates.append(rows / pipeline_seconds)
        copy_rates.append(rows / copy_seconds)
        growth.append(rss.growth_mb)
        lookups.append(lookup_seconds[0])
        print(
            f"  pipeline {rows:>8,} rows {pipeline_seconds:6.2f} s {rows / pipeline_seconds:>9,.0f} rows/s "
            f"(registry lookups {lookup_seconds[0]:5.2f} s) | "
            f"plain COPY {copy_seconds:6.2f} s {rows / copy_seconds:>9,.0f} rows/s | "
            f"worker memory +{rss.growth_mb:.0f} MB"
        )
    pipeline, plain = statistics.median(pipeline_rates), statistics.median(copy_rates)
    print(
        f"median: pipeline {pipeline:,.0f} rows/s, plain COPY {plain:,.0f} rows/s, "
        f"ratio {pipeline / plain:.2f}, registry lookups {statistics.median(lookups):.2f} s per run, "
        f"worker memory growth {max(growth):.0f} MB"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--kind", choices=["address", "person", "organization"], default="person")
    parser.add_argument("--channel", choices=["Sms", "Email", "EmailAndSms"], default="Sms")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    if os.environ.get("DATABASE_URL"):
        run(args.recipients, args.kind, args.channel, args.repeat)
        return 0
    from notifications_project.launcher.servers import postgres_server

    folder = Path(tempfile.mkdtemp(prefix="bench-large-order-"))
    try:
        # Not a throwaway server: fsync stays on, so the numbers hold for a real database.
        with postgres_server(folder / "postgres") as url:
            os.environ["DATABASE_URL"] = url
            run(args.recipients, args.kind, args.channel, args.repeat)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
