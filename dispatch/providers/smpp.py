"""SMS over SMPP 3.4 (``smpplib`` for the PDUs and the socket).

Sending (Celery workers): each worker process keeps one bind (``NOTIFICATIONS_SMPP_BIND``: transmitter
by default, or transceiver) and reuses it across batches; a bind idle longer than the enquire_link
interval is probed with ``enquire_link`` before use and rebuilt when the probe fails. ``submit_sm`` PDUs
are pipelined up to ``NOTIFICATIONS_SMPP_WINDOW`` unanswered at a time and matched to their
``submit_sm_resp`` by sequence number.

Text: GSM-7 (data_coding 0, one septet per octet, escapes for ``€ [ ] { } \\ ^ ~ |``) when every
character has a GSM-7 code, otherwise UCS-2 (data_coding 8); longer texts are split into parts with an
8-bit concatenation UDH (esm_class 0x40), never cutting an escape or a surrogate pair. A receipt is
requested for the last part only, and that part's message id is the notification's reference.
Sender: alphanumeric (TON 5), international number (TON 1 / NPI 1) or short code (TON 3).

Delivery receipts: ``manage.py run_smpp_receiver`` keeps a receiver bind
(``NOTIFICATIONS_SMPP_RECEIVER_BIND``) open, answers ``enquire_link``, probes the link when idle,
reconnects with exponential backoff and applies each ``deliver_sm`` receipt through the report service
before acknowledging it (a failed apply answers a temporary error, so the SMSC redelivers). A
transceiver worker applies receipts that arrive on its bind the same way. ``stat:`` is mapped as in
:data:`RECEIPT_STATUSES`.
"""

from __future__ import annotations

import contextlib
import logging
import random
import re
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.smpp
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from dispatch.providers.base import (
    INTERMEDIATE,
    UNRECOGNISED,
    Outcome,
    ProviderError,
    ProviderResult,
    ReportStatus,
    SmsMessage,
    SmsProvider,
    not_attempted_outcomes,
)
from templates.sms import SmsEncoding, sms_encoding

logger = logging.getLogger(__name__)

# --- text encoding ------------------------------------------------------------------------------------

# GSM 03.38 basic character set, in code order (0x1B is the escape to the extension table).
GSM7_BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION_TABLE = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}
_GSM7_CODES = {char: code for code, char in enumerate(GSM7_BASIC_TABLE) if code != 0x1B}

DATA_CODING_GSM7 = 0x00
DATA_CODING_UCS2 = 0x08
ESM_CLASS_UDHI = 0x40
GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 140, 134  # octets: 70 and 67 UTF-16 units


@dataclass(frozen=True)
class EncodedSms:
    data_coding: int
    esm_class: int
    parts: tuple[bytes, ...]  # short_message of each submit_sm, UDH included


def _units(text: str, encoding: SmsEncoding) -> list[bytes]:
    """One entry per character: its octets, which must stay together in one part."""
    if encoding is SmsEncoding.GSM7:
        return [
            bytes([0x1B, GSM7_EXTENSION_TABLE[char]])
            if char in GSM7_EXTENSION_TABLE
            else bytes([_GSM7_CODES[char]])
            for char in text
        ]
    return [char.encode("utf-16-be") for char in text]


def encode_sms(text: str, *, reference: int | None = None) -> EncodedSms:
    """Encode ``text`` for submit_sm: GSM-7 or UCS-2, split into concatenated parts when too long."""
    encoding = sms_encoding(text)
    units = _units(text, encoding)
    data_coding = DATA_CODING_GSM7 if encoding is SmsEncoding.GSM7 else DATA_CODING_UCS2
    single, per_part = (GSM7_SINGLE, GSM7_PART) if encoding is SmsEncoding.GSM7 else (UCS2_SINGLE, UCS2_PART)
    whole = b"".join(units)
    if len(whole) <= single:
        return EncodedSms(data_coding=data_coding, esm_class=0, parts=(whole,))
    chunks: list[bytes] = []
    current = b""
    for unit in units:
        if len(current) + len(unit) > per_part:  # never split an escape or a surrogate pair
            chunks.append(current)
            current = b""
        current += unit
    chunks.append(current)
    if len(chunks) > 255:
        raise ValueError(f"text needs {len(chunks)} parts; SMS concatenation allows 255")
    ref = random.randint(0, 255) if reference is None else reference
    total = len(chunks)
    parts = tuple(
        bytes([0x05, 0x00, 0x03, ref, total, index]) + chunk for index, chunk in enumerate(chunks, 1)
    )
    return EncodedSms(data_coding=data_coding, esm_class=ESM_CLASS_UDHI, parts=parts)


def decode_short_message(data: bytes, data_coding: int, esm_class: int = 0) -> str:
    """The inverse of :func:`encode_sms` for one part (used for receipts and by the test SMSC)."""
    if esm_class & ESM_CLASS_UDHI and data:
        data = data[1 + data[0] :]
    if data_coding == DATA_CODING_UCS2:
        return data.decode("utf-16-be")
    reverse_ext = {code: char for char, code in GSM7_EXTENSION_TABLE.items()}
    chars: list[str] = []
    escape = False
    for octet in data:
        if escape:
            chars.append(reverse_ext.get(octet, " "))
            escape = False
        elif octet == 0x1B:
            escape = True
        else:
            chars.append(GSM7_BASIC_TABLE[octet] if octet < 0x80 else "?")
    return "".join(chars)


def address(value: str) -> tuple[int, int, str]:
    """(TON, NPI, address) of a sender or recipient."""
    stripped = value.strip()
    digits = "".join(ch for ch in stripped if ch.isdigit())
    if stripped.startswith("+") or stripped.startswith("00"):
        return 1, 1, digits[2:] if stripped.startswith("00") else digits
    if digits and digits == stripped.replace(" ", ""):
        return (3, 0, digits) if len(digits) <= 6 else (0, 1, digits)
    return 5, 0, stripped[:11]  # alphanumeric: at most 11 characters on the air interface


# smpplib writes the C-Octet String addresses as Latin-1, and their longest value (21 octets) is 20.
_ADDRESS_CODEC = "latin-1"
_ADDRESS_MAX = 20


def check_addresses(message: SmsMessage) -> None:
    """Raise a permanent ProviderError for a sender or number that cannot be written into a submit_sm.

    Rows registered before senders were validated can hold such a sender; finding it here fails that
    message alone, where smpplib's error would stop the batch.
    """
    for value, what, status in (
        (message.sender, "sender", "Failed_Rejected"),
        (message.to_e164, "recipient number", "Failed_InvalidRecipient"),
    ):
        _ton, _npi, written = address(value)
        problem = ""
        if not written:
            problem = "is empty as an SMPP address"
        elif len(written) > _ADDRESS_MAX or any(ord(char) < 0x20 or char == "\x7f" for char in written):
            problem = "is not a valid SMPP address"
        else:
            try:
                written.encode(_ADDRESS_CODEC)
            except UnicodeEncodeError:
                problem = "cannot be written as an SMPP address"
        if problem:
            text = f"the {what} {value!r} {problem}"
            raise ProviderError(text, permanent=True, status=status, raw=text)


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


# --- delivery receipts ---------------------------------------------------------------------------------

RECEIPT_STATUSES = {
    "DELIVRD": "Delivered",
    "EXPIRED": "Failed_Expired",
    "DELETED": "Failed_Deleted",
    "UNDELIV": "Failed_Undelivered",
    "REJECTD": "Failed_Rejected",
    "BARRED": "Failed_BarredReceiver",
    "FAILED": "Failed",
    "UNKNOWN": "Failed",
    "": "Failed",  # a receipt without a status, as the reference maps a missing one
}
INTERMEDIATE_RECEIPT_STATUSES = {"ACCEPTD", "ENROUTE"}
# The message_state TLV, used when the text has no stat: field.
MESSAGE_STATES = {
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
}
_RECEIPT_FIELD = re.compile(r"(id|stat|err):(\S*)", re.IGNORECASE)


def map_receipt_status(stat: str) -> ReportStatus:
    stat = stat.upper()
    if stat in INTERMEDIATE_RECEIPT_STATUSES:
        return INTERMEDIATE
    if stat in RECEIPT_STATUSES:
        return ReportStatus(status=RECEIPT_STATUSES[stat])
    return UNRECOGNISED


@dataclass(frozen=True)
class Receipt:
    message_id: str
    stat: str
    raw: str


def parse_receipt(pdu: Any) -> Receipt | None:
    """The receipt in a deliver_sm, or None when it is an ordinary (mobile-originated) message."""
    text = _as_text(pdu.short_message or b"")
    is_receipt = bool((pdu.esm_class or 0) & 0x04) or text.startswith("id:")
    if not is_receipt:
        return None
    found = {key.lower(): value for key, value in _RECEIPT_FIELD.findall(text)}
    message_id = _as_text(pdu.receipted_message_id or b"").strip("\x00") or found.get("id", "")
    stat = found.get("stat", "")
    if not stat and pdu.message_state:
        stat = MESSAGE_STATES.get(int(pdu.message_state), "")
    return Receipt(message_id=message_id, stat=stat, raw=text)


def _as_text(value: bytes | str) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def receipt_apply(receipt: Receipt, *, provider: str = "smpp") -> None:
    """Store and apply one receipt (raises when the database is down, so the caller can NACK it)."""
    from dispatch.services.reports import IncomingReport, delivery_report_receive

    delivery_report_receive(
        report=IncomingReport(
            channel="Sms",
            provider=provider,
            provider_status=receipt.stat,
            mapped=map_receipt_status(receipt.stat),
            reference=receipt.message_id or None,
            raw=receipt.raw,
        )
    )


# --- the connection ------------------------------------------------------------------------------------

ESME_RX_T_APPN = 0x64  # "temporary application error": the SMSC will deliver the receipt again


@dataclass
class SmppConfig:
    host: str
    port: int
    system_id: str
    password: str
    system_type: str = ""
    use_tls: bool = False
    timeout: float = 10.0
    enquire_link_seconds: float = 30.0

    @classmethod
    def from_settings(cls) -> SmppConfig:
        if not settings.NOTIFICATIONS_SMPP_HOST:
            raise ImproperlyConfigured("NOTIFICATIONS_SMPP_HOST is required with the smpp SMS provider")
        return cls(
            host=settings.NOTIFICATIONS_SMPP_HOST,
            port=settings.NOTIFICATIONS_SMPP_PORT,
            system_id=settings.NOTIFICATIONS_SMPP_SYSTEM_ID,
            password=settings.NOTIFICATIONS_SMPP_PASSWORD,
            system_type=settings.NOTIFICATIONS_SMPP_SYSTEM_TYPE,
            use_tls=settings.NOTIFICATIONS_SMPP_USE_TLS,
            timeout=settings.NOTIFICATIONS_SMPP_TIMEOUT_SECONDS,
            enquire_link_seconds=settings.NOTIFICATIONS_SMPP_ENQUIRE_LINK_SECONDS,
        )


class SmppLink:
    """One bound SMPP session: connect, bind, read and write PDUs, answer the SMSC's own requests."""

    def __init__(self, config: SmppConfig, *, mode: str, on_receipt: Callable[[Receipt], None]) -> None:
        if mode not in ("transmitter", "receiver", "transceiver"):
            raise ImproperlyConfigured(
                f"SMPP bind mode must be transmitter, receiver or transceiver, not {mode!r}"
            )
        self.config = config
        self.mode = mode
        self.on_receipt = on_receipt
        self.client: smpplib.client.Client | None = None
        self.last_io = 0.0

    def connect(self) -> None:
        """Connect and bind; raise ProviderError(attempted=False) when either fails."""
        self.close()
        context = ssl.create_default_context() if self.config.use_tls else None
        client = smpplib.client.Client(
            self.config.host,
            self.config.port,
            timeout=self.config.timeout,
            ssl_context=context,
            allow_unknown_opt_params=True,
            logger_name="dispatch.providers.smpp.client",
        )
        try:
            client.connect()
            getattr(client, f"bind_{self.mode}")(
                system_id=self.config.system_id,
                password=self.config.password,
                system_type=self.config.system_type or None,
            )
        except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError) as exc:
            with contextlib.suppress(Exception):
                client.disconnect()
            raise ProviderError(f"SMPP {self.mode} bind failed: {exc}", attempted=False) from exc
        self.client = client
        self.last_io = time.monotonic()
        logger.info("SMPP bound as %s to %s:%s", self.mode, self.config.host, self.config.port)

    def close(self, *, unbind: bool = False) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        with contextlib.suppress(Exception):
            if unbind:
                client.send_pdu(smpplib.smpp.make_pdu("unbind", client=client))
        # smpplib warns about closing a bound session; a dead link is exactly that, and it is expected.
        client.state = smpplib.consts.SMPP_CLIENT_STATE_OPEN
        with contextlib.suppress(Exception):
            client.disconnect()

    @property
    def bound(self) -> bool:
        return self.client is not None

    def send(self, pdu: Any) -> None:
        assert self.client is not None
        self.client.send_pdu(pdu)
        self.last_io = time.monotonic()

    def make(self, command: str, **kwargs: Any) -> Any:
        assert self.client is not None
        return smpplib.smpp.make_pdu(command, client=self.client, **kwargs)

    def read(self) -> Any:
        """Read one PDU; answer enquire_link, unbind and deliver_sm here; return everything else."""
        assert self.client is not None
        pdu = self.client.read_pdu()
        self.last_io = time.monotonic()
        if pdu.command == "enquire_link":
            self._respond(pdu, "enquire_link_resp")
        elif pdu.command == "deliver_sm":
            self._deliver(pdu)
        elif pdu.command == "unbind":
            self._respond(pdu, "unbind_resp")
            self.close()
            raise smpplib.exceptions.ConnectionError("the SMSC unbound")
        return pdu

    def _respond(self, request: Any, command: str, status: int = 0) -> None:
        response = self.make(command, status=status) if status else self.make(command)
        response.sequence = request.sequence
        self.send(response)

    def _deliver(self, pdu: Any) -> None:
        receipt = parse_receipt(pdu)
        status = 0
        if receipt is None:
            logger.info("ignored a mobile-originated SMPP message")
        else:
            try:
                self.on_receipt(receipt)
            except Exception:
                logger.exception("could not store an SMPP receipt; asking the SMSC to redeliver it")
                status = ESME_RX_T_APPN
        self._respond(pdu, "deliver_sm_resp", status)

    def drain(self) -> None:
        """Handle whatever the SMSC sent while we were idle (receipts, enquire_link, EOF of a dead link)."""
        assert self.client is not None
        while select.select([self.client._socket], [], [], 0)[0]:
            self.read()

    def probe(self) -> bool:
        """enquire_link round trip; False (and closed) when the link is dead."""
        if self.client is None:
            return False
        try:
            request = self.make("enquire_link")
            self.send(request)
            deadline = time.monotonic() + self.config.timeout
            while time.monotonic() < deadline:
                pdu = self.read()
                if pdu.command == "enquire_link_resp" and pdu.sequence == request.sequence:
                    return True
        except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError):
            pass
        self.close()
        return False


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
    ) -> None:
        self.config = config
        self.window = max(1, window)
        self.validity = f"0000{validity_hours // 24:02d}{validity_hours % 24:02d}0000000R"
        self.throttle_seconds = throttle_seconds
        self.link = SmppLink(config, mode=bind, on_receipt=receipt_apply)
        self._lock = threading.Lock()

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
            # 1. Fill the window with whole messages (every part of a message goes out together).
            while queue and stop is None and len(by_sequence) < self.window:
                message = queue.pop()
                try:
                    check_addresses(message)
                    encoded = encode_sms(message.body)
                except ProviderError as exc:
                    yield Outcome(message, error=exc)
                    continue
                except ValueError as exc:
                    yield Outcome(
                        message, error=ProviderError(str(exc), permanent=True, status="Failed_Rejected")
                    )
                    continue
                flight = _InFlight(message=message, parts=len(encoded.parts))
                try:
                    for sequence in self._submit(message, encoded):
                        by_sequence[sequence] = flight
                except ValueError as exc:
                    # smpplib could not write a field of this message: its fault alone. The PDU is built
                    # before a byte of it is written, so the bind is clean; parts already out of it get
                    # answers that match nothing here and are ignored.
                    for sequence in [key for key, value in by_sequence.items() if value is flight]:
                        del by_sequence[sequence]
                    text = f"SMPP cannot write the message: {exc.__class__.__name__}: {exc}"
                    yield Outcome(
                        message, error=ProviderError(text, permanent=True, status="Failed_Rejected", raw=text)
                    )
                    continue
                except (smpplib.exceptions.ConnectionError, OSError) as exc:
                    self.link.close()
                    stop = ProviderError(f"SMPP connection lost: {exc}", attempted=False)
                    yield Outcome(
                        message, error=ProviderError(f"SMPP connection lost while submitting: {exc}")
                    )
                    break
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
                flight.ids.append(_as_text(pdu.message_id or b"").strip("\x00"))
            if flight.answered == flight.parts:
                yield self._outcome(flight, flight.error)

    def _submit(self, message: SmsMessage, encoded: EncodedSms) -> Iterator[int]:
        source_ton, source_npi, source = address(message.sender)
        dest_ton, dest_npi, destination = address(message.to_e164)
        last = len(encoded.parts) - 1
        for index, part in enumerate(encoded.parts):
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
                # One receipt per message: for its last part, whose id becomes the reference.
                registered_delivery=1 if index == last else 0,
            )
            self.link.send(pdu)
            yield int(pdu.sequence)

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


# --- the receipt listener ------------------------------------------------------------------------------


class SmppReceiver:
    """Hold a receiver bind, apply every receipt, keep the link alive, reconnect with backoff."""

    def __init__(
        self,
        config: SmppConfig,
        *,
        mode: str = "receiver",
        min_backoff: float = 1.0,
        max_backoff: float = 60.0,
    ) -> None:
        self.config = config
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.handled = 0
        self.backoffs: list[float] = []  # the waits before reconnecting, for logs and tests
        self.link = SmppLink(config, mode=mode, on_receipt=self._apply)

    @classmethod
    def from_settings(cls) -> SmppReceiver:
        return cls(SmppConfig.from_settings(), mode=settings.NOTIFICATIONS_SMPP_RECEIVER_BIND)

    def _apply(self, receipt: Receipt) -> None:
        receipt_apply(receipt)
        self.handled += 1

    def serve(self, *, stop: threading.Event, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Run until ``stop`` is set (or ``should_stop()``); every wait ends early when it is."""
        backoff = self.min_backoff
        while not stop.is_set() and not should_stop():
            if not self.link.bound:
                try:
                    self.link.connect()
                    backoff = self.min_backoff
                except ProviderError as exc:
                    logger.warning("SMPP receiver: %s; retrying in %.1f s", exc.message, backoff)
                    self.backoffs.append(backoff)
                    stop.wait(backoff)
                    backoff = min(self.max_backoff, backoff * 2)
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
        if not select.select([sock], [], [], min(1.0, self.config.timeout))[0]:
            idle = time.monotonic() - self.link.last_io
            if idle >= self.config.enquire_link_seconds and not self.link.probe():
                raise smpplib.exceptions.ConnectionError("enquire_link unanswered")
            return
        self.link.read()
