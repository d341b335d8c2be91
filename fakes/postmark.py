"""A local HTTP stand-in for Postmark's send API (``POST /email``), the ESP the anymail tests use.

It checks ``X-Postmark-Server-Token`` and records each JSON request. ``rules`` per ``To`` address:
``"invalid"`` (422, ErrorCode 300), ``"inactive"`` (422, ErrorCode 406), ``"throttle"`` (429 with
``Retry-After: 3``), ``"error"`` (500).
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class PostmarkFake:
    def __init__(self, *, token: str = "server-token") -> None:
        self.token = token
        self.rules: dict[str, str] = {}
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes; with Nagle on, each answer waits for the
            # client's delayed ACK (40 ms) and the fake, not the code under test, sets the pace.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
                return

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
                if self.headers.get("X-Postmark-Server-Token") != fake.token:
                    return self._answer(401, {"ErrorCode": 10, "Message": "Bad or missing Server API token."})
                to = body.get("To", "")
                rule = fake.rules.get(to, "")
                if rule == "invalid":
                    return self._answer(422, {"ErrorCode": 300, "Message": f"Invalid 'To' address: '{to}'."})
                if rule == "inactive":
                    message = (
                        "You tried to send to a recipient that has been marked as inactive.\n"
                        f"Found inactive addresses: {to}.\n"
                        "Inactive recipients are ones that have generated a "
                        "hard bounce or a spam complaint."
                    )
                    return self._answer(422, {"ErrorCode": 406, "Message": message})
                if rule == "throttle":
                    return self._answer(
                        429, {"ErrorCode": 429, "Message": "Rate limit exceeded"}, {"Retry-After": "3"}
                    )
                if rule == "error":
                    return self._answer(500, {"ErrorCode": 500, "Message": "Internal server error"})
                fake.requests.append(body)
                message_id = str(uuid.uuid4())
                return self._answer(
                    200,
                    {
                        "To": to,
                        "SubmittedAt": "2026-01-01T10:00:00Z",
                        "MessageID": message_id,
                        "ErrorCode": 0,
                        "Message": "OK",
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
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def start(self) -> PostmarkFake:
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
