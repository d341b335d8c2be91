"""A local SMTP server (aiosmtpd) that records what it accepts and fails on request.

Per recipient address, ``rules`` choose a reply at RCPT or DATA:

* ``"refuse"``   550 5.1.1 (no such user)         * ``"invalid"``  553 5.1.3 (bad address syntax)
* ``"defer"``    451 4.3.0 (try again later)       * ``"throttle"`` 421 4.7.0 (too many messages, closing)
* ``"spam"``     554 5.7.1 at DATA (spam)          * ``"drop"``     the connection is cut during DATA
* ``"defer-once"`` 451 the first time, accepted afterwards

``stop()`` makes every connection attempt fail (connection refused).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import warnings
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# Plain-text AUTH is what a loopback test server wants; aiosmtpd warns about it on every connection.
warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class _Handler:
    def __init__(self, fake: SmtpFake) -> None:
        self.fake = fake

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ):
        self.fake.sessions += 1
        self.fake._servers.append(server)
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]):
        rule = self.fake.rules.get(address)
        if rule == "refuse":
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if rule == "invalid":
            return f"553 5.1.3 <{address}>: bad address syntax"
        if rule == "defer":
            return "451 4.3.0 Temporary local problem, try again later"
        if rule == "defer-once":
            del self.fake.rules[address]
            return "451 4.3.0 Temporary local problem, try again later"
        if rule == "throttle":
            return "421 4.7.0 Too many messages, slow down"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any):
        rules = {self.fake.rules.get(address) for address in envelope.rcpt_tos}
        if "drop" in rules:
            server.transport.close()
            return "250 never seen: the connection is gone"
        if "spam" in rules:
            return "554 5.7.1 Message rejected as spam"
        self.fake.received.append(
            Received(mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos), data=envelope.content)
        )
        return "250 2.0.0 Ok: queued"


class SmtpFake:
    def __init__(self, *, username: str | None = None, password: str | None = None) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self.rules: dict[str, str] = {}
        self.sessions = 0
        self._servers: list[Any] = []  # every session's server side, to drop them (drop_sessions)
        self.credentials = (username, password) if username else None
        kwargs: dict[str, Any] = {}
        if self.credentials:
            kwargs = {"authenticator": self._authenticate, "auth_require_tls": False, "auth_required": True}
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **kwargs)

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any):
        ok = (
            isinstance(auth_data, LoginPassword)
            and (
                auth_data.login.decode(),
                auth_data.password.decode(),
            )
            == self.credentials
        )
        return AuthResult(success=ok, handled=False)

    def start(self) -> SmtpFake:
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller._thread is not None:
            self.controller.stop()

    def drop_sessions(self) -> None:
        """Close every session from the server's side, as an idle timeout does; returns once closed."""
        servers, self._servers = self._servers, []

        async def close() -> None:
            for server in servers:
                if server.transport is not None:
                    server.transport.close()

        asyncio.run_coroutine_threadsafe(close(), self.controller.loop).result(timeout=5)

    def by_recipient(self, address: str) -> list[Received]:
        return [item for item in self.received if address in item.rcpt_tos]
