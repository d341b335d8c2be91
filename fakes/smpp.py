"""A local SMSC speaking SMPP 3.4 over plain sockets, with smpplib's PDU classes.

It binds transmitters, receivers and transceivers (checking system_id and password), answers
``submit_sm`` with ``submit_sm_resp`` and records every part, answers ``enquire_link`` and ``unbind``,
and sends ``deliver_sm`` delivery receipts to a bound receiver or transceiver (queued until one binds,
as a real SMSC does). ``rules`` per destination address (digits only) pick faults:

* ``"reject"``   status 0x0B ESME_RINVDSTADR          * ``"throttle"`` status 0x58 ESME_RTHROTTLED
* ``"syserr"``   status 0x08 ESME_RSYSERR              * ``"drop"``     the connection is closed, no answer
* ``"throttle-once"`` / ``"syserr-once"`` the fault once, accepted afterwards
* a receipt status (``"UNDELIV"``, ``"EXPIRED"``, ...) accepted, then receipted with that ``stat:``

``auto_receipt`` (default ``"DELIVRD"``) is the receipt for everything else; None sends none.
``reverse_window`` (default 0: answer at once) holds that many ``submit_sm_resp`` of a session and sends
them in reverse order, as an SMSC with parallel workers may: a client with a smaller window waits forever.
"""

from __future__ import annotations

import itertools
import socket
import struct
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import smpplib.smpp

from dispatch.providers.smpp.codec import decode_short_message


class _Sequencer:
    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self.sequence = 0

    def next_sequence(self) -> int:
        self.sequence = next(self._counter)
        return self.sequence


@dataclass
class Submit:
    source_addr_ton: int
    source_addr: str
    dest_addr_ton: int
    destination_addr: str
    data_coding: int
    esm_class: int
    registered_delivery: int
    short_message: bytes
    message_id: str

    @property
    def udh(self) -> bytes:
        return self.short_message[: 1 + self.short_message[0]] if self.esm_class & 0x40 else b""

    @property
    def text(self) -> str:
        return decode_short_message(self.short_message, self.data_coding, self.esm_class)


@dataclass
class _Session:
    sock: socket.socket
    mode: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    acked_receipts: list[int] = field(default_factory=list)
    held: list[bytes] = field(default_factory=list)  # submit_sm_resp waiting for reverse_window

    @property
    def receives(self) -> bool:
        return self.mode in ("bind_receiver", "bind_transceiver")


class SmppFake:
    def __init__(
        self, *, system_id: str = "notify", password: str = "secret", auto_receipt: str | None = "DELIVRD"
    ):
        self.system_id, self.password = system_id, password
        self.auto_receipt = auto_receipt
        self.reverse_window = 0
        self.rules: dict[str, str] = {}
        self.submits: list[Submit] = []
        self.binds: list[str] = []
        self.enquire_links = 0
        self.receipt_statuses: dict[int, int] = {}  # deliver_sm sequence → deliver_sm_resp status
        self._pending_receipts: list[dict[str, Any]] = []
        self._sessions: list[_Session] = []
        self._ids = itertools.count(1)
        self._seq = _Sequencer()
        self._lock = threading.RLock()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._running = False

    # --- control ------------------------------------------------------------------------------------

    def start(self) -> SmppFake:
        self._listener.listen(16)
        self._running = True
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        self._running = False
        # shutdown() wakes the thread blocked in accept(); close() alone would leave the port listening.
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        self.drop_connections()

    def drop_connections(self) -> None:
        """Cut every bound session (an SMSC restart)."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            try:
                session.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            session.sock.close()

    def send_receipt(
        self, message_id: str, stat: str, *, destination: str = "4799999999", use_tlv: bool = True
    ) -> None:
        """Queue a delivery receipt; it goes to a receiving session now or when one binds."""
        now = datetime.now(UTC)
        text = (
            f"id:{message_id} sub:001 dlvrd:{'001' if stat == 'DELIVRD' else '000'} "
            f"submit date:{now:%y%m%d%H%M} done date:{now:%y%m%d%H%M} "
            f"stat:{stat} err:000 text:"
        )
        fields: dict[str, Any] = {
            "source_addr_ton": 1,
            "source_addr_npi": 1,
            "source_addr": destination,
            "dest_addr_ton": 5,
            "dest_addr_npi": 0,
            "destination_addr": "Altinn",
            "esm_class": 0x04,
            "data_coding": 0,
            "short_message": text.encode(),
        }
        if use_tlv:
            fields["receipted_message_id"] = message_id
        with self._lock:
            self._pending_receipts.append(fields)
        self._flush_receipts()

    @property
    def receivers(self) -> int:
        with self._lock:
            return sum(1 for session in self._sessions if session.receives)

    # --- server ---------------------------------------------------------------------------------------

    def _accept(self) -> None:
        while self._running:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            if not self._running:
                sock.close()
                return
            session = _Session(sock=sock)
            with self._lock:
                self._sessions.append(session)
            threading.Thread(target=self._serve, args=(session,), daemon=True).start()

    def _serve(self, session: _Session) -> None:
        try:
            while True:
                header = self._recv(session.sock, 4)
                if header is None:
                    return
                (length,) = struct.unpack(">L", header)
                body = self._recv(session.sock, length - 4)
                if body is None:
                    return
                pdu = smpplib.smpp.parse_pdu(header + body, client=self._seq, allow_unknown_opt_params=True)
                if not self._handle(session, pdu):
                    return
        except OSError:
            return
        finally:
            with self._lock:
                if session in self._sessions:
                    self._sessions.remove(session)
            session.sock.close()

    @staticmethod
    def _recv(sock: socket.socket, size: int) -> bytes | None:
        data = b""
        while len(data) < size:
            chunk = sock.recv(size - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def _reply(self, session: _Session, request: Any, command: str, status: int = 0, **fields: Any) -> None:
        response = smpplib.smpp.make_pdu(command, client=self._seq, status=status or None, **fields)
        if not status:
            response.status = 0
        response.sequence = request.sequence
        data = response.generate()
        with session.lock:
            if command == "submit_sm_resp" and self.reverse_window > 1:
                session.held.append(data)
                if len(session.held) < self.reverse_window:
                    return
                data, session.held = b"".join(reversed(session.held)), []
            session.sock.sendall(data)

    def _handle(self, session: _Session, pdu: Any) -> bool:
        command = pdu.command
        if command in ("bind_transmitter", "bind_receiver", "bind_transceiver"):
            ok = pdu.system_id == self.system_id.encode() and pdu.password == self.password.encode()
            self._reply(session, pdu, f"{command}_resp", 0 if ok else 0x0E, system_id="fake-smsc")
            if not ok:
                return False
            session.mode = command
            self.binds.append(command)
            self._flush_receipts()
        elif command == "submit_sm":
            self._submit(session, pdu)
        elif command == "enquire_link":
            self.enquire_links += 1
            self._reply(session, pdu, "enquire_link_resp")
        elif command == "unbind":
            self._reply(session, pdu, "unbind_resp")
            return False
        elif command == "deliver_sm_resp":
            self.receipt_statuses[pdu.sequence] = int(pdu.status or 0)
            session.acked_receipts.append(pdu.sequence)
        return True

    def _submit(self, session: _Session, pdu: Any) -> None:
        destination = pdu.destination_addr.decode()
        rule = self.rules.get(destination, "")
        if rule == "drop":
            session.sock.shutdown(socket.SHUT_RDWR)
            return
        if rule.endswith("-once"):
            del self.rules[destination]
            rule = rule.removesuffix("-once")
        status = {"reject": 0x0B, "throttle": 0x58, "syserr": 0x08}.get(rule, 0)
        if status:
            self._reply(session, pdu, "submit_sm_resp", status)
            return
        message_id = f"{next(self._ids):08x}"
        self.submits.append(
            Submit(
                source_addr_ton=pdu.source_addr_ton or 0,
                source_addr=pdu.source_addr.decode(),
                dest_addr_ton=pdu.dest_addr_ton or 0,
                destination_addr=destination,
                data_coding=pdu.data_coding or 0,
                esm_class=pdu.esm_class or 0,
                registered_delivery=pdu.registered_delivery or 0,
                short_message=pdu.short_message or b"",
                message_id=message_id,
            )
        )
        self._reply(session, pdu, "submit_sm_resp", message_id=message_id)
        receipt = rule or self.auto_receipt
        if (pdu.registered_delivery or 0) & 0x01 and receipt:
            self.send_receipt(message_id, receipt, destination=destination)

    def _flush_receipts(self) -> None:
        with self._lock:
            targets = [session for session in self._sessions if session.receives]
            if not targets or not self._pending_receipts:
                return
            pending, self._pending_receipts = self._pending_receipts, []
        for index, fields in enumerate(pending):
            session = targets[index % len(targets)]
            pdu = smpplib.smpp.make_pdu("deliver_sm", client=self._seq, **fields)
            with session.lock:
                try:
                    session.sock.sendall(pdu.generate())
                except OSError:
                    with self._lock:
                        self._pending_receipts.append(fields)
