"""The admin seen rendering in headless Chromium, not only answering 200 (skipped without Chromium)."""

from __future__ import annotations

import struct
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from dispatch.models import AttemptOutcome, Channel, DeliveryAttempt, DeliveryReport
from orders.models import OrderStatus
from tests.dispatch.sending_support import email_notification, sms_notification
from tests.factories import OrderFactory
from tests.screenshots.capture import capture, chromium_binary

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(chromium_binary() is None, reason="Chromium is not installed"),
]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def seed() -> str:
    """A day of traffic for the dashboard, and a failed SMS with its attempts and report."""
    now = timezone.now()
    for creator, statuses in {
        "ttd": ["Delivered"] * 6 + ["Failed_Undelivered", "New"],
        "nav": ["Delivered"] * 3 + ["Accepted", "Sending"],
        "skd": ["Delivered", "Failed_TTL", "Failed_Expired"],
    }.items():
        order = OrderFactory(creator=creator, status=OrderStatus.PROCESSED)
        for status in statuses:
            sms_notification(order=order, status=status)
    for status in ["Delivered", "Delivered", "Succeeded", "Failed_Bounced"]:
        email_notification(status=status)
    failed = sms_notification(
        mobile_number="+4799315000",
        status="Failed_Undelivered",
        provider="sandbox",
        provider_reference="sandbox-demo",
        last_error="the operator reported the message undeliverable",
        recipient_national_identity_number="01017012345",
        attempts=1,
    )
    DeliveryAttempt.objects.create(
        channel=Channel.SMS,
        notification_id=failed.id,
        order_id=failed.order_id,
        attempt=1,
        provider="sandbox",
        outcome=AttemptOutcome.ACCEPTED,
        status="Accepted",
        provider_reference="sandbox-demo",
        started_at=now - timedelta(minutes=3),
        duration_ms=42,
        raw_response="accepted as sandbox-demo",
    )
    DeliveryReport.objects.create(
        channel=Channel.SMS,
        provider="sandbox",
        reference="sandbox-demo",
        notification_id=failed.id,
        provider_status="UNDELIV",
        mapped_status="Failed_Undelivered",
        raw='{"reference": "sandbox-demo", "status": "UNDELIV"}',
        state="applied",
        received_at=now - timedelta(minutes=2),
    )
    return reverse("admin:orders_smsnotification_change", args=[failed.id])


def test_dashboard_and_notification_page_render_in_chromium(live_server, settings, tmp_path):
    settings.NOTIFICATIONS_DASHBOARD_CACHE_SECONDS = 0
    call_command("ensure_groups", verbosity=0)
    operator = User.objects.create_user(username="otto", password="screenshot-pass", is_staff=True)
    operator.groups.add(Group.objects.get(name="operator"))
    notification_path = seed()

    shots = capture(
        base_url=live_server.url,
        username="otto",
        password="screenshot-pass",
        out=tmp_path,
        notification_path=notification_path,
    )

    dashboard, notification = shots
    assert png_size(dashboard)[0] == 1400
    # A page with charts and tables is taller than the window and far from blank (a blank PNG is tiny).
    assert png_size(dashboard)[1] > 900
    assert dashboard.stat().st_size > 50_000
    assert notification.stat().st_size > 30_000
