"""Benchmark sending: `python bench/send_rate.py [--count 2000] [--only smtp,smpp]`.

For each provider, inserts ``count`` New notifications of one order and times one worker sending them
all through the real sending service (claim in batches, send, record attempts and statuses) to a local
stand-in speaking the real protocol: aiosmtpd for SMTP, the test SMSC for SMPP, the Twilio HTTP fake, and
the sandbox. Prints messages per second per provider and writes them to ``bench/results/send_rate.json``.

Uses ``DATABASE_URL`` when it is set (the script migrates that database and leaves its rows in it);
otherwise it starts a private PostgreSQL in a temporary folder, with fsync on as in production, and
removes it afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))


def _setup() -> None:
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ["DJANGO_SETTINGS_MODULE"] = "notifications_project.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _notifications(channel: str, count: int) -> Any:
    from django.utils import timezone

    from orders.models import EmailNotification, Order, OrderStatus, SmsNotification
    from templates.models import EmailTemplate, SmsTemplate

    now = timezone.now()
    common = {"status_changed_at": now, "expires_at": now + timedelta(hours=48)}
    if channel == "Email":
        template = EmailTemplate.objects.create(
            from_address="noreply@etat.no", subject="Benchmark", body="A short benchmark message. " * 8
        )
        order = Order.objects.create(
            creator="bench",
            requested_send_time=now,
            notification_channel="Email",
            email_template=template,
            status=OrderStatus.PROCESSED,
        )
        EmailNotification.objects.bulk_create(
            EmailNotification(order=order, recipient_position=n, to_address=f"user{n}@domain.com", **common)
            for n in range(count)
        )
        return order
    sms_template = SmsTemplate.objects.create(sender_number="Altinn", body="Hei! Dette er en testmelding.")
    order = Order.objects.create(
        creator="bench",
        requested_send_time=now,
        notification_channel="Sms",
        sending_time_policy="Anytime",
        sms_template=sms_template,
        status=OrderStatus.PROCESSED,
    )
    SmsNotification.objects.bulk_create(
        SmsNotification(order=order, recipient_position=n, mobile_number=f"+47{90000000 + n}", **common)
        for n in range(count)
    )
    return order


@contextmanager
def _sandbox(settings: Any, channel: str) -> Iterator[None]:
    setattr(settings, f"NOTIFICATIONS_{channel.upper()}_PROVIDER", "sandbox")
    yield


@contextmanager
def _smtp(settings: Any, channel: str) -> Iterator[None]:
    from fakes.smtp import SmtpFake

    fake = SmtpFake().start()
    settings.NOTIFICATIONS_EMAIL_PROVIDER = "smtp"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", fake.port, False
    try:
        yield
    finally:
        fake.stop()


@contextmanager
def _smpp(settings: Any, channel: str) -> Iterator[None]:
    from fakes.smpp import SmppFake

    fake = SmppFake(system_id="bench", password="bench", auto_receipt=None).start()
    settings.NOTIFICATIONS_SMS_PROVIDER = "smpp"
    settings.NOTIFICATIONS_SMPP_HOST, settings.NOTIFICATIONS_SMPP_PORT = "127.0.0.1", fake.port
    settings.NOTIFICATIONS_SMPP_SYSTEM_ID = settings.NOTIFICATIONS_SMPP_PASSWORD = "bench"
    try:
        yield
    finally:
        fake.stop()


@contextmanager
def _twilio(settings: Any, channel: str) -> Iterator[None]:
    from fakes.twilio import TwilioFake

    fake = TwilioFake().start()
    settings.NOTIFICATIONS_SMS_PROVIDER = "twilio"
    settings.NOTIFICATIONS_TWILIO_ACCOUNT_SID = fake.account_sid
    settings.NOTIFICATIONS_TWILIO_AUTH_TOKEN = fake.auth_token
    settings.NOTIFICATIONS_TWILIO_API_BASE = fake.url
    try:
        yield
    finally:
        fake.stop()


CASES: dict[str, tuple[str, Callable[..., Any]]] = {
    "sandbox-email": ("Email", _sandbox),
    "smtp": ("Email", _smtp),
    "sandbox-sms": ("Sms", _sandbox),
    "smpp": ("Sms", _smpp),
    "twilio": ("Sms", _twilio),
}


def measure(name: str, count: int) -> dict[str, Any]:
    from django.conf import settings

    from dispatch.providers import reset_providers
    from dispatch.services.sending import notifications_send
    from orders.models import EmailNotification, SmsNotification

    channel, environment = CASES[name]
    model: Any = EmailNotification if channel == "Email" else SmsNotification
    model.objects.filter(status__in=["New", "Sending"]).update(status="Failed")  # nothing left from before
    order = _notifications(channel, count)
    with environment(settings, channel):
        reset_providers()
        started = time.perf_counter()
        summary = notifications_send(channel=channel, time_budget=3600)
        elapsed = time.perf_counter() - started
        reset_providers()
    sent = model.objects.filter(order=order, status__in=["Succeeded", "Delivered", "Accepted"]).count()
    return {
        "provider": name,
        "channel": channel,
        "messages": count,
        "accepted": sent,
        "claimed": summary.claimed,
        "seconds": round(elapsed, 3),
        "per_second": round(count / elapsed, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--only", default=",".join(CASES), help="comma-separated: " + ", ".join(CASES))
    args = parser.parse_args()
    folder: Path | None = None
    try:
        if not os.environ.get("DATABASE_URL"):
            from notifications_project.launcher.servers import postgres_server

            folder = Path(tempfile.mkdtemp(prefix="bench-send-"))
            context = postgres_server(folder / "postgres")
            os.environ["DATABASE_URL"] = context.__enter__()
        _setup()
        import logging

        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would time the terminal
        logging.getLogger("dispatch.providers.smpp").setLevel(logging.WARNING)
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        os.environ["NOTIFICATIONS_SMS_SEND_WINDOW"] = "anytime"
        from django.conf import settings

        settings.NOTIFICATIONS_SMS_SEND_WINDOW = "anytime"
        results = [measure(name.strip(), args.count) for name in args.only.split(",") if name.strip()]
        for row in results:
            print(
                f"{row['provider']:>14}: {row['per_second']:>8.1f} messages/s "
                f"({row['accepted']}/{row['messages']} accepted in {row['seconds']:.2f} s)"
            )
        out = BASE_DIR / "bench" / "results" / "send_rate.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
        return 0 if all(row["accepted"] == row["messages"] for row in results) else 1
    finally:
        if folder is not None:
            context.__exit__(None, None, None)
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
