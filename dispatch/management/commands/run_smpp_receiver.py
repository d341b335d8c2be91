"""Hold an SMPP receiver bind and apply delivery receipts as they come (one per deployment is enough)."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand

from dispatch.providers.smpp.receiver import SmppReceiver


class Command(BaseCommand):
    help = (
        "Bind to the SMSC as a receiver (NOTIFICATIONS_SMPP_RECEIVER_BIND) and apply delivery receipts; "
        "reconnects with backoff. Stop with SIGTERM or Ctrl-C."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        receiver = SmppReceiver.from_settings()
        self.stdout.write(
            f"SMPP receiver: {receiver.config.host}:{receiver.config.port} as {receiver.link.mode}"
        )
        receiver.serve(stop=stop)
        self.stdout.write(f"SMPP receiver stopped after {receiver.handled} receipt(s)")
