"""The delivery-receipt listener of ``manage.py run_smpp_receiver``: a receiver bind kept open."""

from __future__ import annotations

import logging
import select
import threading
import time
from collections.abc import Callable

import smpplib.exceptions
from django.conf import settings

from dispatch.backoff import backoff_delay
from dispatch.providers.base import ProviderError, ReportHandler, report_hand_over
from dispatch.providers.smpp.link import SmppConfig, SmppLink
from dispatch.providers.smpp.receipts import Receipt, receipt_report

logger = logging.getLogger(__name__)


class SmppReceiver:
    """Hold a receiver bind, apply every receipt, keep the link alive, reconnect with backoff."""

    def __init__(
        self,
        config: SmppConfig,
        *,
        mode: str = "receiver",
        min_backoff: float = 1.0,
        max_backoff: float = 60.0,
        on_report: ReportHandler = report_hand_over,
    ) -> None:
        self.config = config
        self.on_report = on_report
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.handled = 0
        self.backoffs: list[float] = []  # the waits before reconnecting, for logs and tests
        self.link = SmppLink(config, mode=mode, on_receipt=self._apply)

    @classmethod
    def from_settings(cls) -> SmppReceiver:
        return cls(SmppConfig.from_settings(), mode=settings.NOTIFICATIONS_SMPP_RECEIVER_BIND)

    def _apply(self, receipt: Receipt) -> None:
        self.on_report(receipt_report(receipt))
        self.handled += 1

    def serve(self, *, stop: threading.Event, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Run until ``stop`` is set (or ``should_stop()``); every wait ends early when it is."""
        failures = 0  # failed connects in a row
        while not stop.is_set() and not should_stop():
            if not self.link.bound:
                try:
                    self.link.connect()
                    failures = 0
                except ProviderError as exc:
                    failures += 1
                    backoff = backoff_delay(failures, base=self.min_backoff, cap=self.max_backoff)
                    logger.warning("SMPP receiver: %s; retrying in %.1f s", exc.message, backoff)
                    self.backoffs.append(backoff)
                    stop.wait(backoff)
                    continue
            try:
                self._read_once()
            except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError) as exc:
                logger.warning("SMPP receiver lost its link: %s", exc)
                self.link.close()
        self.link.close(unbind=True)

    def _read_once(self) -> None:
        """Wait up to a second for a PDU; when the link has been idle too long, probe it."""
        assert self.link.client is not None
        sock = self.link.client._socket
        if not self.link.buffered and not select.select([sock], [], [], min(1.0, self.config.timeout))[0]:
            idle = time.monotonic() - self.link.last_io
            if idle >= self.config.enquire_link_seconds and not self.link.probe():
                raise smpplib.exceptions.ConnectionError("enquire_link unanswered")
            return
        self.link.read()
