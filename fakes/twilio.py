"""A local HTTP stand-in for Twilio's Messages API (``POST /2010-04-01/Accounts/{sid}/Messages.json``).

It checks HTTP Basic (account SID and auth token), records every form it accepts and answers as Twilio
does. ``rules`` per ``To`` number pick faults: ``"invalid"`` (400, code 21211), ``"stopped"`` (400, code
21610), ``"throttle"`` (429 with ``Retry-After: 2``, code 20429), ``"error"`` (500), ``"drop"`` (the
connection is closed without an answer); a ``-once`` suffix fails only the first request.
:meth:`status_callback` builds the signed status callback Twilio would send for a recorded message.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from dispatch.providers.twilio import signature

GARBLED_MESSAGE = "bad\x00number\tfield\nnext line \\N \\ end"


class TwilioFake:
    def __init__(self, *, account_sid: str = "AC" + "0" * 32, auth_token: str = "test-token") -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.rules: dict[str, str] = {}
        self.messages: list[dict[str, str]] = []
        self.requests = 0
        self.client_ports: set[int] = set()  # one per TCP connection: shows keep-alive reuse
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes; with Nagle on, each answer waits for the
            # client's delayed ACK (40 ms) and the fake, not the code under test, sets the pace.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
                return

            def do_POST(self) -> None:
                fake.requests += 1
                fake.client_ports.add(self.client_address[1])
                length = int(self.headers.get("Content-Length", "0"))
                form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
                expected = (
                    "Basic " + base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
                )
                if self.headers.get("Authorization") != expected:
                    return self._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
                if self.path != f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json":
                    return self._answer(404, {"code": 20404, "message": "Not found", "status": 404})
                to = form.get("To", "")
                rule = fake.rules.get(to, "")
                if rule.endswith("-once"):
                    del fake.rules[to]
                    rule = rule.removesuffix("-once")
                if rule == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return None
                if rule == "invalid":
                    return self._answer(
                        400, {"code": 21211, "message": f"The 'To' number {to} is not valid", "status": 400}
                    )
                if rule == "garbled":
                    # An answer with every character a text column or COPY treats specially: NUL (which
                    # PostgreSQL refuses in text), tab, newline and backslash.
                    return self._answer(
                        400, {"code": 21211, "message": GARBLED_MESSAGE, "status": 400, "more_info": "\x00"}
                    )
                if rule == "stopped":
                    return self._answer(
                        400,
                        {
                            "code": 21610,
                            "message": "Attempt to send to unsubscribed recipient",
                            "status": 400,
                        },
                    )
                if rule == "throttle":
                    return self._answer(
                        429,
                        {"code": 20429, "message": "Too Many Requests", "status": 429},
                        {"Retry-After": "2"},
                    )
                if rule == "error":
                    return self._answer(
                        500, {"code": 20500, "message": "Internal Server Error", "status": 500}
                    )
                sid = "SM" + uuid.uuid4().hex
                fake.messages.append({**form, "sid": sid})
                return self._answer(
                    201,
                    {
                        "sid": sid,
                        "status": "queued",
                        "to": to,
                        "from": form.get("From"),
                        "body": form.get("Body"),
                    },
                )

            def _answer(
                self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> TwilioFake:
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def status_callback(
        self, message: dict[str, str], status: str, *, error_code: str | None = None, token: str | None = None
    ) -> tuple[str, dict[str, str], str]:
        """(path with query, form, X-Twilio-Signature) of the callback Twilio would POST for ``message``."""
        url = message["StatusCallback"]
        form = {
            "AccountSid": self.account_sid,
            "MessageSid": message["sid"],
            "MessageStatus": status,
            "To": message["To"],
        }
        if error_code:
            form["ErrorCode"] = error_code
        split = urlsplit(url)
        path = split.path + (f"?{split.query}" if split.query else "")
        return path, form, signature(token or self.auth_token, url, form)
