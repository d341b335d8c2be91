"""Provider stand-ins, each in its own process: ``python -m bench.sinks smtp|smpp|twilio``.

They are the local fakes of the test suite (aiosmtpd, the SMPP SMSC, the Twilio HTTP fake), run outside
the harness and the service so their CPU shows up as theirs. On start a sink prints one JSON line
(``{"port": ...}``), then answers commands read from stdin, one JSON line each:

* ``stats``  → ``{"received": n}`` (messages accepted since the start)
* ``probes`` → ``{"<address>": <unix time received>, ...}`` for recipients whose address starts with
  ``probe`` (emails) or ``+4740`` (SMS): the end of the POST-to-provider latency measurement
* ``quit``   → stops

:class:`SinkProcess` starts one and talks to it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

BASE_DIR = Path(__file__).resolve().parent.parent

SMPP_SYSTEM_ID = "bench"
SMPP_PASSWORD = "benchpw"  # SMPP passwords are at most 8 characters
TWILIO_ACCOUNT_SID = "AC" + "b" * 32
TWILIO_AUTH_TOKEN = "bench-twilio-token"
PROBE_SMS_PREFIX = "4740"  # digits as the SMSC sees them (+47 40...): numbers used only by probes


class _Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received = 0
        self.probes: dict[str, float] = {}

    def hit(self, address: str, probe: bool) -> None:
        now = time.time()
        with self.lock:
            self.received += 1
            if probe:
                self.probes[address] = now


def _smtp(counter: _Counter) -> tuple[int, Any]:
    from fakes.smtp import SmtpFake, _Handler

    class Handler(_Handler):
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            for address in envelope.rcpt_tos:
                counter.hit(address, address.startswith("probe"))
            # Keep nothing: the fake would hold every message in memory otherwise.
            return "250 2.0.0 Ok: queued"

    fake = SmtpFake()
    fake.controller.handler = Handler(fake)
    fake.start()
    return fake.port, fake


def _smpp(counter: _Counter) -> tuple[int, Any]:
    from fakes.smpp import SmppFake

    class Smsc(SmppFake):
        def _submit(self, session: Any, pdu: Any) -> None:
            destination = pdu.destination_addr.decode()
            # Answer exactly as the fake does, but keep no record of the message.
            message_id = f"{next(self._ids):08x}"
            self._reply(session, pdu, "submit_sm_resp", message_id=message_id)
            counter.hit(destination, destination.startswith(PROBE_SMS_PREFIX))

    fake = Smsc(system_id=SMPP_SYSTEM_ID, password=SMPP_PASSWORD, auto_receipt=None).start()
    return fake.port, fake


def _twilio(counter: _Counter) -> tuple[int, Any]:
    from fakes.twilio import TwilioFake

    class Gateway(TwilioFake):
        def __init__(self) -> None:
            super().__init__(account_sid=TWILIO_ACCOUNT_SID, auth_token=TWILIO_AUTH_TOKEN)

    fake = Gateway().start()

    class Counted(list):  # type: ignore[type-arg]
        def append(self, item: Any) -> None:
            to = str(item.get("To", "")).lstrip("+")
            counter.hit(to, to.startswith(PROBE_SMS_PREFIX))

    fake.messages = Counted()
    return fake.port, fake


SINKS = {"smtp": _smtp, "smpp": _smpp, "twilio": _twilio}


def serve(kind: str) -> int:
    counter = _Counter()
    port, _fake = SINKS[kind](counter)
    print(json.dumps({"port": port}), flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "stats":
            with counter.lock:
                answer: dict[str, Any] = {"received": counter.received}
        elif command == "probes":
            with counter.lock:
                answer = dict(counter.probes)
        elif command == "quit":
            break
        else:
            answer = {"error": f"unknown command {command!r}"}
        print(json.dumps(answer), flush=True)
    return 0


class SinkProcess:
    """A sink in a child process, with its port and its command channel."""

    def __init__(self, kind: str, log_dir: Path) -> None:
        self.kind = kind
        self._log = (log_dir / f"sink-{kind}.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.sinks", kind],
            cwd=BASE_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            start_new_session=True,
        )
        self._lock = threading.Lock()
        self.port = int(self._read()["port"])

    def _read(self) -> dict[str, Any]:
        stdout: TextIO | None = self.process.stdout
        assert stdout is not None
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.kind} sink stopped (see sink-{self.kind}.log)")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def ask(self, command: str) -> dict[str, Any]:
        with self._lock:
            assert self.process.stdin is not None
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
            return self._read()

    def received(self) -> int:
        return int(self.ask("stats")["received"])

    def probes(self) -> dict[str, float]:
        return {key: float(value) for key, value in self.ask("probes").items()}

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                self.ask("quit")
            except (OSError, RuntimeError, ValueError):
                pass
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1]))
