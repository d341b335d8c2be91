"""The fault tests that run the pipeline in this process, on a frozen clock moved from event to event.

``pipeline_tick`` is what a Celery worker runs on each beat tick; ``next_event`` is the next moment when
something can change (a send time, a backoff or a provider pause ending, an expiry), so a test can cover
two days of retries in a few dozen ticks.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import Any

from aiosmtpd.controller import Controller
from django.conf import settings
from django.db.models import Min

from dispatch.models import ProviderPause
from dispatch.services.completion import orders_complete
from dispatch.services.expiry import notifications_expire
from dispatch.services.processing import orders_process_due
from dispatch.services.sending import notifications_release_stuck, notifications_send
from fakes.smtp import SmtpFake, _Handler
from orders.models import EMAIL_PENDING_STATUSES, EmailNotification, Order, OrderStatus


def pipeline_tick() -> None:
    """One beat tick's work: process due orders, send, return stuck sends, expire, complete."""
    orders_process_due()
    notifications_send(time_budget=60)
    notifications_release_stuck()
    notifications_expire()
    orders_complete()


def next_event(now: datetime, *, pauses: bool = True) -> datetime | None:
    """The first moment after ``now`` at which a tick can change something; None when nothing can.

    ``pauses=False`` leaves out the end of provider pauses (a test that knows when its provider is back
    need not tick every pause through a long outage).
    """
    orders = Order.objects.all()
    moments: list[datetime | None] = [
        orders.filter(status=OrderStatus.REGISTERED, requested_send_time__gt=now).aggregate(
            at=Min("requested_send_time")
        )["at"],
        orders.filter(status=OrderStatus.PROCESSING, next_attempt_at__gt=now).aggregate(
            at=Min("next_attempt_at")
        )["at"],
        EmailNotification.objects.filter(status="New", not_before__gt=now).aggregate(at=Min("not_before"))[
            "at"
        ],
    ]
    if pauses:
        moments.append(
            ProviderPause.objects.filter(paused_until__gt=now).aggregate(at=Min("paused_until"))["at"]
        )
    pending = EmailNotification.objects.filter(status__in=EMAIL_PENDING_STATUSES)
    expiry = pending.aggregate(at=Min("expires_at"))["at"]
    if expiry is not None:
        moments.append(expiry + settings.NOTIFICATIONS_EXPIRY_GRACE + timedelta(seconds=1))
    later = [moment for moment in moments if moment is not None and moment > now]
    return min(later) if later else None


class _TimedHandler(_Handler):
    """The fake's handler, plus ``slow-once`` (the first DATA is answered after the client gave up) and
    ``drop-once`` (the first DATA is cut off)."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        fake = self.fake
        assert isinstance(fake, TimedSmtp)
        once = {
            address: fake.rules.pop(address)
            for address in envelope.rcpt_tos
            if fake.rules.get(address) in ("slow-once", "drop-once")
        }
        if "drop-once" in once.values():
            server.transport.close()
            return "250 never seen: the connection is gone"
        if "slow-once" in once.values():
            await asyncio.sleep(fake.slow_seconds)  # the server's own slowness, on its own thread
        received = len(fake.received)
        answer: str = await super().handle_DATA(server, session, envelope)
        if len(fake.received) > received:
            fake.received_at.append(time.time())  # the (possibly frozen) clock of the test
        return answer


class TimedSmtp(SmtpFake):
    """The local SMTP server, recording when (by the test's clock) it accepted each message."""

    def __init__(self, *, slow_seconds: float = 1.0) -> None:
        super().__init__()
        self.slow_seconds = slow_seconds
        self.received_at: list[float] = []
        self.controller = Controller(_TimedHandler(self), hostname="127.0.0.1", port=self.port)
