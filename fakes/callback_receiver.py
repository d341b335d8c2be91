"""A local receiver of status callbacks that verifies every signature and can fail on purpose.

It checks ``X-Notifications-Signature`` with the secrets it is given (as a client would, with the
verification of docs/pipeline.md) and answers 401 to a bad one. ``fail_first`` answers that many requests
with ``fail_status`` (500 by default, with ``Retry-After`` when ``retry_after`` is set) before it starts
accepting.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from dispatch.callback_format import SIGNATURE_HEADER, signature_verify


class CallbackReceiver:
    def __init__(
        self, *, secrets: list[str] | None = None, fail_first: int = 0, fail_status: int = 500
    ) -> None:
        self.secrets = list(secrets or [])
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.retry_after: int | None = None
        self.requests: list[dict[str, Any]] = []  # every request: headers, body, verified, answer
        self.accepted: list[dict[str, Any]] = []  # bodies answered 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                header = self.headers.get(SIGNATURE_HEADER, "")
                verified = any(signature_verify(header, body, secret) for secret in receiver.secrets)
                record = {"headers": dict(self.headers), "body": body, "verified": verified}
                receiver.requests.append(record)
                if not verified:
                    record["answer"] = 401
                    return self._answer(401, b"bad signature")
                if receiver.fail_first > 0:
                    receiver.fail_first -= 1
                    record["answer"] = receiver.fail_status
                    headers = {"Retry-After": str(receiver.retry_after)} if receiver.retry_after else {}
                    return self._answer(receiver.fail_status, b"failing on purpose", headers)
                record["answer"] = 200
                receiver.accepted.append(json.loads(body))
                return self._answer(200, b"ok")

            def _answer(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}/callbacks"

    def start(self) -> CallbackReceiver:
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
