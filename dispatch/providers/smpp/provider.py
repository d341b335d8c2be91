"""The SMPP SmsProvider: one bind per worker process, ``submit_sm`` pipelined up to a window."""

from __future__ import annotations

import functools
import logging
import socket
import struct
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import smpplib.consts
import smpplib.exceptions
from django.conf import settings
from django.utils import timezone

from dispatch.providers.base import (
    Outcome,
    ProviderError,
    ProviderResult,
    ReportHandler,
    SmsMessage,
    SmsProvider,
    not_attempted_outcomes,
    report_hand_over,
)
from dispatch.providers.smpp.codec import EncodedSms, address, check_addresses, encode_sms
from dispatch.providers.smpp.link import SmppConfig, SmppLink
from dispatch.providers.smpp.receipts import Receipt, as_text, receipt_report

logger = logging.getLogger(__name__)

# --- submit_sm_resp statuses --------------------------------------------------------------------------

THROTTLING = {0x58: "ESME_RTHROTTLED", 0x14: "ESME_RMSGQFUL"}
INVALID_RECIPIENT = {0x0B: "ESME_RINVDSTADR", 0x50: "ESME_RINVDSTTON", 0x51: "ESME_RINVDSTNPI"}
PERMANENT = {
    0x01: "ESME_RINVMSGLEN",
    0x0A: "ESME_RINVSRCADR",
    0x48: "ESME_RINVSRCTON",
    0x49: "ESME_RINVSRCNPI",
    0x62: "ESME_RINVEXPIRY",
    0x66: "ESME_RX_P_APPN",
}


def classify_submit_status(status: int, *, throttle_seconds: float) -> ProviderError:
    name = smpplib.consts.DESCRIPTIONS.get(status, "unknown")
    text = f"submit_sm_resp 0x{status:08X} {name}"
    if status in THROTTLING:
        return ProviderError(text, retry_after=throttle_seconds, raw=text)
    if status in INVALID_RECIPIENT:
        return ProviderError(text, permanent=True, status="Failed_InvalidRecipient", raw=text)
    if status in PERMANENT:
        return ProviderError(text, permanent=True, status="Failed_Rejected", raw=text)
    # System errors, submit failures and vendor codes we do not know: worth another try.
    return ProviderError(text, raw=text)


@functools.lru_cache(maxsize=256)
def _encoded(body: str) -> EncodedSms:
    """The encoding of a text, kept for the next message: the recipients of one order mostly share it.

    A long text's parts then carry one concatenation reference for every recipient, which is harmless:
    the reference only has to tell one handset's concatenated messages apart, and identical texts need
    no telling apart.
    """
    return encode_sms(body)


# Kinds of submit_sm (sender, text part, receipt flag, ...) whose bytes are kept for reuse.
LAYOUTS_KEPT = 256
SUBMIT_SM = 0x00000004


@dataclass(frozen=True)
class SubmitLayout:
    """The bytes of a submit_sm body before and after its destination_addr.

    In a submit_sm body the destination follows service_type, source_addr_ton, source_addr_npi,
    source_addr, dest_addr_ton and dest_addr_npi (SMPP 3.4, 4.4.1); the two strings among them end at
    their NUL, so the destination's offset is found without parsing anything after it.
    """

    before: bytes
    after: bytes

    @classmethod
    def of(cls, pdu: bytes, destination: str) -> SubmitLayout:
        body = pdu[16:]
        service_type_end = body.index(0)
        source_end = body.index(0, service_type_end + 3)
        start = source_end + 3
        end = start + len(destination.encode("latin-1")) + 1
        if body[end - 1] != 0:
            raise ValueError("not the layout of a submit_sm")
        return cls(before=body[:start], after=body[end:])

    def pdu(self, sequence: int, destination: str) -> bytes:
        body = b"".join((self.before, destination.encode("latin-1"), b"\0", self.after))
        return struct.pack(">LLLL", 16 + len(body), SUBMIT_SM, 0, sequence) + body


@dataclass
class _InFlight:
    message: SmsMessage
    parts: int
    started_at: datetime = field(default_factory=timezone.now)
    clock: float = field(default_factory=time.monotonic)
    answered: int = 0
    ids: list[str] = field(default_factory=list)
    error: ProviderError | None = None


class SmppProvider(SmsProvider):
    name = "smpp"

    def __init__(
        self,
        config: SmppConfig,
        *,
        bind: str = "transmitter",
        window: int = 10,
        validity_hours: int = 48,
        throttle_seconds: float = 1.0,
        on_report: ReportHandler = report_hand_over,
    ) -> None:
        self.config = config
        self.window = max(1, window)
        self.validity = f"0000{validity_hours // 24:02d}{validity_hours % 24:02d}0000000R"
        self.throttle_seconds = throttle_seconds
        # Receipts that arrive on a transceiver bind go to the report handler like the receiver's.
        self.on_report = on_report
        self.link = SmppLink(config, mode=bind, on_receipt=self._receipt)
        self._lock = threading.Lock()
        self._layouts: dict[tuple[Any, ...], SubmitLayout] = {}

    @classmethod
    def from_settings(cls) -> SmppProvider:
        return cls(
            SmppConfig.from_settings(),
            bind=settings.NOTIFICATIONS_SMPP_BIND,
            window=settings.NOTIFICATIONS_SMPP_WINDOW,
            validity_hours=settings.NOTIFICATIONS_SMPP_VALIDITY_HOURS,
            # SMPP throttling names no reset time; a second is what SMSCs expect (they count per second).
            throttle_seconds=1.0,
        )

    def _receipt(self, receipt: Receipt) -> None:
        self.on_report(receipt_report(receipt, provider=self.name))

    def open(self) -> None:
        if self.link.bound:
            try:
                # A closed link shows up as a readable socket at EOF; receipts queued on a transceiver
                # bind while we were idle are applied here too.
                self.link.drain()
            except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError):
                self.link.close()
        if self.link.bound and time.monotonic() - self.link.last_io < self.config.enquire_link_seconds:
            return
        if self.link.bound and self.link.probe():
            return
        self.link.connect()

    def close(self) -> None:
        self.link.close(unbind=True)

    def send(self, message: SmsMessage) -> ProviderResult:
        [outcome] = list(self.send_batch([message]))
        if outcome.error is not None:
            raise outcome.error
        assert outcome.result is not None
        return outcome.result

    def send_batch(self, messages: Sequence[SmsMessage]) -> Iterator[Outcome[SmsMessage]]:
        with self._lock:  # one bind, one conversation: threads of one worker take turns
            yield from self._send_batch(messages)

    def _send_batch(self, messages: Sequence[SmsMessage]) -> Iterator[Outcome[SmsMessage]]:
        try:
            self.open()
        except ProviderError as exc:
            yield from not_attempted_outcomes(messages, exc)
            return
        queue = list(reversed(messages))
        by_sequence: dict[int, _InFlight] = {}
        stop: ProviderError | None = None
        while queue or by_sequence:
            # 1. Fill the window with whole messages (every part of a message goes out together), then
            #    write them with one system call.
            outgoing: list[bytes] = []
            while queue and stop is None and len(by_sequence) < self.window:
                message = queue.pop()
                try:
                    check_addresses(message)
                    encoded = _encoded(message.body)
                    generated = self._generate(message, encoded)
                except ProviderError as exc:
                    yield Outcome(message, error=exc)
                    continue
                except ValueError as exc:
                    # The text is too long, or smpplib could not write a field of this message: its fault
                    # alone. A PDU is generated before any of it is written, so the bind stays clean.
                    text = f"SMPP cannot write the message: {exc.__class__.__name__}: {exc}"
                    yield Outcome(
                        message, error=ProviderError(text, permanent=True, status="Failed_Rejected", raw=text)
                    )
                    continue
                flight = _InFlight(message=message, parts=len(encoded.parts))
                for sequence, data in generated:
                    by_sequence[sequence] = flight
                    outgoing.append(data)
            if outgoing:
                try:
                    self.link.write(b"".join(outgoing))
                except (smpplib.exceptions.ConnectionError, OSError) as exc:
                    # Part of the window may have left: every message in it may or may not have been
                    # taken, so each is a transient failure (retried with backoff), the rest not attempted.
                    self.link.close()
                    stop = ProviderError(f"SMPP connection lost: {exc}", attempted=False)
                    for flight in _unique(by_sequence.values()):
                        yield self._outcome(
                            flight, ProviderError(f"SMPP connection lost while submitting: {exc}")
                        )
                    by_sequence.clear()
            if stop is not None and queue:
                yield from not_attempted_outcomes(reversed(queue), stop)
                queue.clear()
            if not by_sequence:
                break
            # 2. Read one answer.
            try:
                pdu = self.link.read()
            except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError) as exc:
                # No answer: those in flight may or may not have been taken. Transient, and a new bind.
                self.link.close()
                reason = (
                    "no submit_sm_resp in time"
                    if isinstance(exc, socket.timeout)
                    else f"connection lost: {exc}"
                )
                for flight in _unique(by_sequence.values()):
                    yield self._outcome(flight, ProviderError(f"SMPP {reason}"))
                by_sequence.clear()
                if queue:
                    stop = ProviderError(f"SMPP {reason}", attempted=False)
                continue
            if pdu.command not in ("submit_sm_resp", "generic_nack"):
                continue
            if pdu.sequence not in by_sequence:
                continue
            flight = by_sequence.pop(pdu.sequence)
            flight.answered += 1
            if pdu.command == "generic_nack" or pdu.status:
                error = classify_submit_status(
                    int(pdu.status or 0x08), throttle_seconds=self.throttle_seconds
                )
                flight.error = flight.error or error
                if error.retry_after is not None:
                    stop = error  # send nothing more; collect what is in flight
            else:
                flight.ids.append(as_text(pdu.message_id or b"").strip("\x00"))
            if flight.answered == flight.parts:
                yield self._outcome(flight, flight.error)

    def _generate(self, message: SmsMessage, encoded: EncodedSms) -> list[tuple[int, bytes]]:
        """Every submit_sm of a message as (sequence, bytes), generated before any is written.

        smpplib writes a submit_sm field by field through every optional parameter it knows (about ten
        times the cost of reading an answer); the recipients of one order differ only in the destination
        and the sequence number. So smpplib writes the first message of a kind, and the next ones reuse
        its bytes around the destination (:class:`SubmitLayout`), byte for byte what smpplib would write.
        """
        source_ton, source_npi, source = address(message.sender)
        dest_ton, dest_npi, destination = address(message.to_e164)
        last = len(encoded.parts) - 1
        generated = []
        for index, part in enumerate(encoded.parts):
            # One receipt per message: for its last part, whose id becomes the reference.
            registered = 1 if index == last else 0
            key = (source_ton, source_npi, source, dest_ton, dest_npi, encoded.esm_class,
                   encoded.data_coding, part, registered)  # fmt: skip
            layout = self._layouts.get(key)
            if layout is not None:
                sequence = self.link.next_sequence()
                generated.append((sequence, layout.pdu(sequence, destination)))
                continue
            pdu = self.link.make(
                "submit_sm",
                source_addr_ton=source_ton,
                source_addr_npi=source_npi,
                source_addr=source,
                dest_addr_ton=dest_ton,
                dest_addr_npi=dest_npi,
                destination_addr=destination,
                esm_class=encoded.esm_class,
                data_coding=encoded.data_coding,
                short_message=part,
                validity_period=self.validity,
                registered_delivery=registered,
            )
            data = pdu.generate()
            if len(self._layouts) >= LAYOUTS_KEPT:
                self._layouts.pop(next(iter(self._layouts)))  # the oldest kind goes first
            self._layouts[key] = SubmitLayout.of(data, destination)
            generated.append((int(pdu.sequence), data))
        return generated

    def _outcome(self, flight: _InFlight, error: ProviderError | None) -> Outcome[SmsMessage]:
        duration = time.monotonic() - flight.clock
        if error is None and flight.ids and len(flight.ids) == flight.parts:
            raw = "submit_sm_resp ok message_id=" + ",".join(flight.ids)
            return Outcome(
                flight.message,
                result=ProviderResult(reference=flight.ids[-1], raw=raw),
                started_at=flight.started_at,
                duration=duration,
            )
        return Outcome(
            flight.message,
            error=error or ProviderError("SMPP message not fully accepted"),
            started_at=flight.started_at,
            duration=duration,
        )


def _unique(flights: Any) -> list[_InFlight]:
    seen: dict[int, _InFlight] = {}
    for flight in flights:
        seen.setdefault(id(flight), flight)
    return list(seen.values())
