"""One bound SMPP session (transmitter, receiver or transceiver) and its settings."""

from __future__ import annotations

import contextlib
import logging
import select
import ssl
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.smpp
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from dispatch.providers.base import ProviderError
from dispatch.providers.smpp.receipts import Receipt, parse_receipt

logger = logging.getLogger(__name__)

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
        # Bytes read past the last whole PDU: one recv() takes every answer the SMSC has sent so far.
        self._buffer = bytearray()

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
        self._buffer.clear()
        self.last_io = time.monotonic()
        logger.info("SMPP bound as %s to %s:%s", self.mode, self.config.host, self.config.port)

    def close(self, *, unbind: bool = False) -> None:
        client, self.client = self.client, None
        self._buffer.clear()
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

    def write(self, data: bytes) -> None:
        """Write generated PDUs with one ``sendall`` (a window's worth: one system call, not one each)."""
        assert self.client is not None
        if not data:
            return
        try:
            self.client._socket.sendall(data)
        except OSError as exc:
            raise smpplib.exceptions.ConnectionError(str(exc)) from exc
        self.last_io = time.monotonic()

    def _next_raw(self) -> bytes:
        """The next whole PDU from the buffer, reading the socket only when none is buffered."""
        assert self.client is not None
        buffer = self._buffer
        while True:
            if len(buffer) >= 4:
                (length,) = struct.unpack_from(">L", buffer)
                if length < 16:
                    raise smpplib.exceptions.PDUError("Broken PDU")
                if len(buffer) >= length:
                    raw = bytes(buffer[:length])
                    del buffer[:length]
                    return raw
            chunk = self.client._socket.recv(65536)  # socket.timeout (an OSError) when the SMSC is silent
            if not chunk:
                raise smpplib.exceptions.ConnectionError("the SMSC closed the connection")
            buffer += chunk

    @property
    def buffered(self) -> bool:
        """Whether bytes already read wait in the buffer (select() on the socket cannot see them)."""
        return bool(self._buffer)

    def make(self, command: str, **kwargs: Any) -> Any:
        assert self.client is not None
        return smpplib.smpp.make_pdu(command, client=self.client, **kwargs)

    def next_sequence(self) -> int:
        """The next sequence number of this bind (the one smpplib would give the next PDU it makes)."""
        assert self.client is not None
        return int(self.client.next_sequence())

    def read(self) -> Any:
        """Read one PDU; answer enquire_link, unbind and deliver_sm here; return everything else."""
        assert self.client is not None
        pdu = smpplib.smpp.parse_pdu(self._next_raw(), client=self.client, allow_unknown_opt_params=True)
        if pdu is None:
            raise smpplib.exceptions.PDUError("unknown SMPP command")
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
        while self.client is not None and (
            self.buffered or select.select([self.client._socket], [], [], 0)[0]
        ):
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
