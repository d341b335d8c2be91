"""A local XACML JSON decision point (PDP) on 127.0.0.1, answering multi-decision requests.

It decides from ``permits``: a set of (subject attribute value, owner attribute value, action) triples,
e.g. ``("20001", "50001", "read")``. Anything else gets ``default`` (``NotApplicable`` unless changed);
``decisions`` overrides the answer for one subject value (``"Deny"``, ``"Indeterminate"``, ...). Every
request body and its headers are kept in ``requests``. ``status`` makes it answer that HTTP status with no
decision, ``delay`` makes it wait before answering (to time a client out), and ``body`` replaces the answer.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SUBJECT = "urn:oasis:names:tc:xacml:1.0:subject-category:access-subject"
RESOURCE = "urn:oasis:names:tc:xacml:3.0:attribute-category:resource"
ACTION_ID = "urn:oasis:names:tc:xacml:1.0:action:action-id"


def _included(category: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"AttributeId": a["AttributeId"], "Value": a["Value"], "DataType": a.get("DataType")}
        for a in category["Attribute"]
        if a.get("IncludeInResult")
    ]


class PdpFake:
    def __init__(self) -> None:
        self.permits: set[tuple[str, str, str]] = set()
        self.decisions: dict[str, str] = {}
        self.default = "NotApplicable"
        self.status = 200
        self.delay = 0.0
        self.body: bytes | None = None
        self.requests: list[tuple[dict[str, Any], dict[str, str]]] = []
        self._release = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = json.loads(raw)
                fake.requests.append((request, dict(self.headers)))
                if fake.delay:
                    fake._release.wait(fake.delay)
                if fake.status != 200:
                    answer = b'{"title": "unavailable"}'
                else:
                    answer = fake.body if fake.body is not None else json.dumps(fake.decide(request)).encode()
                try:
                    self.send_response(fake.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the client gave up (a timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/authorization/api/v1/decision"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def decide(self, request: dict[str, Any]) -> dict[str, Any]:
        body = request["Request"]
        subjects = {c["Id"]: c for c in body["AccessSubject"]}
        resources = {c["Id"]: c for c in body["Resource"]}
        actions = {c["Id"]: c for c in body["Action"]}
        results = []
        for reference in body["MultiRequests"]["RequestReference"]:
            subject = resource = action = None
            for ref in reference["ReferenceId"]:
                subject = subjects.get(ref, subject)
                resource = resources.get(ref, resource)
                action = actions.get(ref, action)
            if subject is None or resource is None or action is None:
                raise ValueError(f"a reference names an unknown category: {reference}")
            subject_value = subject["Attribute"][0]["Value"]
            owner_value = next(a["Value"] for a in resource["Attribute"] if a.get("IncludeInResult"))
            action_value = next(a["Value"] for a in action["Attribute"] if a["AttributeId"] == ACTION_ID)
            decision = self.decisions.get(subject_value)
            if decision is None:
                permitted = (subject_value, owner_value, action_value) in self.permits
                decision = "Permit" if permitted else self.default
            results.append(
                {
                    "Decision": decision,
                    "Status": {"StatusCode": {"Value": "urn:oasis:names:tc:xacml:1.0:status:ok"}},
                    "Category": [
                        {"CategoryId": SUBJECT, "Attribute": _included(subject)},
                        {"CategoryId": RESOURCE, "Attribute": _included(resource)},
                    ],
                }
            )
        return {"Response": results}

    def start(self) -> PdpFake:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
