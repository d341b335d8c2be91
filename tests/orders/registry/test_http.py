"""The HTTP registry against a real register stand-in served on 127.0.0.1 from a thread."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from orders.registry import get_registry
from orders.registry.base import (
    ExternalIdentityContact,
    OrganizationContacts,
    PersonContact,
    RegistryUnavailable,
)
from orders.registry.http import (
    EXTERNAL_IDENTITIES_PATH,
    NAMES_PATH,
    ORGANIZATIONS_PATH,
    PERSONS_PATH,
    HttpRegistry,
)

PREFIX = "/profile/api/v1/"

# A responder writes the whole answer itself: used to make one path misbehave.
Responder = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class FakeRegister:
    """What the stand-in knows, what it was asked, and which paths misbehave."""

    url: str
    persons: dict[str, dict[str, Any]] = field(default_factory=dict)
    organizations: dict[str, dict[str, Any]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    # Self-identified users by external identity, answered case-insensitively as Profile does.
    identities: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, Any, dict[str, str]]] = field(default_factory=list)
    broken: dict[str, Responder] = field(default_factory=dict)
    release: threading.Event = field(default_factory=threading.Event)

    def answer(self, path: str, body: Any) -> Any:
        if path == PERSONS_PATH:
            nins = body["nationalIdentityNumbers"]
            return {"contactPointsList": [self.persons[n] for n in nins if n in self.persons]}
        if path == ORGANIZATIONS_PATH:
            numbers = body["organizationNumbers"]
            return {"contactPointsList": [self.organizations[n] for n in numbers if n in self.organizations]}
        if path == EXTERNAL_IDENTITIES_PATH:
            known = {urn.lower(): entry for urn, entry in self.identities.items()}
            return {
                "contactPointsList": [
                    known[u.lower()] for u in body["externalIdentities"] if u.lower() in known
                ]
            }
        if path == NAMES_PATH:
            found = []
            for party in body["parties"]:
                identifier = party.get("ssn") or party.get("orgNo")
                if identifier in self.names:
                    found.append({**party, "name": self.names[identifier]})
            return {"partyNames": found}
        raise AssertionError(path)


def _handler(register: FakeRegister) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            path = self.path.removeprefix(PREFIX)
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            register.requests.append((path, json.loads(raw), dict(self.headers)))
            if path in register.broken:
                register.broken[path](self)
                return
            _send(self, 200, json.dumps(register.answer(path, json.loads(raw))).encode())

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@pytest.fixture
def register() -> Iterator[FakeRegister]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.daemon_threads = True
    fake = FakeRegister(url=f"http://127.0.0.1:{server.server_address[1]}{PREFIX}")
    server.RequestHandlerClass = _handler(fake)
    # A short poll interval: shutdown() waits for the serving loop to notice, once per test.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield fake
    fake.release.set()  # lets a deliberately hanging handler finish
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def registry(register: FakeRegister) -> Iterator[HttpRegistry]:
    client = HttpRegistry(base_url=register.url, timeout_seconds=0.5)
    yield client
    client.close()


def _person_entry(
    nin: str, *, reserved: bool = False, mobile: Any = None, email: Any = None
) -> dict[str, Any]:
    return {
        "userId": 20001,
        "nationalIdentityNumber": nin,
        "isReserved": reserved,
        "mobileNumber": mobile,
        "email": email,
    }


def _organization_entry(number: str, *, emails: Any, mobiles: Any) -> dict[str, Any]:
    return {"organizationNumber": number, "partyId": 50001, "emailList": emails, "mobileNumberList": mobiles}


def test_persons_returns_found_persons_with_names_normalised_numbers_and_reservation(
    register: FakeRegister, registry: HttpRegistry
) -> None:
    register.persons["01010112345"] = _person_entry(
        "01010112345", mobile="99315000", email=" ola@example.no "
    )
    register.persons["02020212345"] = _person_entry("02020212345", reserved=True, mobile="81549300")
    register.names["01010112345"] = "Ola Nordmann"

    found = registry.persons(["01010112345", "02020212345", "99999999999"])

    assert found == {
        "01010112345": PersonContact(
            national_identity_number="01010112345",
            name="Ola Nordmann",
            mobile_number="+4799315000",
            email_address="ola@example.no",
            reserved=False,
        ),
        "02020212345": PersonContact(
            national_identity_number="02020212345",
            name=None,
            mobile_number=None,
            email_address=None,
            reserved=True,
        ),
    }


def test_persons_sends_the_documented_request_shapes_in_two_requests(
    register: FakeRegister, registry: HttpRegistry
) -> None:
    nins = [f"{n:011d}" for n in range(1, 101)]
    for nin in nins:
        register.persons[nin] = _person_entry(nin, email=f"{nin}@example.no")

    found = registry.persons([*nins, *nins])

    assert len(found) == 100
    assert [(path, body) for path, body, _ in register.requests] == [
        (PERSONS_PATH, {"nationalIdentityNumbers": nins, "useStaleContactInfo": False}),
        (NAMES_PATH, {"parties": [{"ssn": nin} for nin in nins]}),
    ]


def test_persons_none_found_makes_no_names_request(register: FakeRegister, registry: HttpRegistry) -> None:
    assert registry.persons(["99999999999"]) == {}
    assert [path for path, _, _ in register.requests] == [PERSONS_PATH]


def test_lookups_without_identifiers_make_no_request(register: FakeRegister, registry: HttpRegistry) -> None:
    assert registry.persons([]) == {}
    assert registry.organizations([]) == {}
    assert register.requests == []


def test_organizations_returns_deduplicated_normalised_addresses_and_the_name(
    register: FakeRegister, registry: HttpRegistry
) -> None:
    register.organizations["987654321"] = _organization_entry(
        "987654321",
        emails=["post@demo.no", "POST@demo.no", "faktura@demo.no", None, ""],
        mobiles=["004799315000", "+4799315000", "40000001", "4123"],
    )
    register.organizations["912345678"] = _organization_entry("912345678", emails=None, mobiles=None)
    register.names["987654321"] = "Demo AS"

    found = registry.organizations(["987654321", "912345678", "123456789"])

    assert found == {
        "987654321": OrganizationContacts(
            organization_number="987654321",
            name="Demo AS",
            email_addresses=("post@demo.no", "faktura@demo.no"),
            mobile_numbers=("+4799315000", "+4740000001"),
        ),
        "912345678": OrganizationContacts(
            organization_number="912345678", name=None, email_addresses=(), mobile_numbers=()
        ),
    }
    assert [(path, body) for path, body, _ in register.requests] == [
        (ORGANIZATIONS_PATH, {"organizationNumbers": ["123456789", "912345678", "987654321"]}),
        (NAMES_PATH, {"parties": [{"orgNo": "912345678"}, {"orgNo": "987654321"}]}),
    ]


def test_answers_about_identifiers_not_asked_for_are_ignored(
    register: FakeRegister, registry: HttpRegistry
) -> None:
    register.broken[PERSONS_PATH] = lambda handler: _send(
        handler,
        200,
        json.dumps({"contactPointsList": [_person_entry("55555555555", email="x@y.no")]}).encode(),
    )

    assert registry.persons(["01010112345"]) == {}


def test_the_token_is_sent_as_a_bearer_token(register: FakeRegister) -> None:
    registry = HttpRegistry(base_url=register.url, timeout_seconds=0.5, token="s3cret")
    try:
        registry.persons(["01010112345"])
    finally:
        registry.close()

    assert register.requests[0][2]["Authorization"] == "Bearer s3cret"


def test_get_registry_returns_one_shared_http_registry_from_the_settings(
    settings: Any, register: FakeRegister
) -> None:
    settings.NOTIFICATIONS_REGISTRY_BACKEND = "http"
    settings.NOTIFICATIONS_REGISTRY_URL = register.url
    settings.NOTIFICATIONS_REGISTRY_TIMEOUT_SECONDS = 0.5
    register.persons["01010112345"] = _person_entry("01010112345", email="ola@example.no")

    first, second = get_registry(), get_registry()

    assert isinstance(first, HttpRegistry)
    assert first is second
    assert first.persons(["01010112345"])["01010112345"].email_address == "ola@example.no"


def test_the_http_backend_without_a_url_is_a_configuration_error(settings: Any) -> None:
    settings.NOTIFICATIONS_REGISTRY_BACKEND = "http"
    settings.NOTIFICATIONS_REGISTRY_URL = ""

    with pytest.raises(ImproperlyConfigured, match="NOTIFICATIONS_REGISTRY_URL"):
        get_registry()


def _status(code: int) -> Responder:
    return lambda handler: _send(handler, code, b'{"title": "nope"}')


def _body(raw: bytes) -> Responder:
    return lambda handler: _send(handler, 200, raw)


def _hang(register: FakeRegister) -> Responder:
    # Answers only after the test is over: far past the client's timeout, without sleeping in the test.
    def respond(handler: BaseHTTPRequestHandler) -> None:
        register.release.wait(10)
        _send(handler, 200, b'{"contactPointsList": [], "partyNames": []}')

    return respond


FAILURES: dict[str, Callable[[FakeRegister], Responder]] = {
    "503": lambda _: _status(503),
    "500": lambda _: _status(500),
    "404": lambda _: _status(404),
    "401": lambda _: _status(401),
    "timeout": _hang,
    "malformed JSON": lambda _: _body(b'{"contactPointsList": ['),
    "not JSON": lambda _: _body(b"<html>gateway</html>"),
    "JSON of the wrong shape": lambda _: _body(b'["contactPointsList"]'),
    "list missing": lambda _: _body(b"{}"),
    "entry of the wrong type": lambda _: _body(b'{"contactPointsList": [42], "partyNames": [42]}'),
    "field of the wrong type": lambda _: _body(
        b'{"contactPointsList": [{"nationalIdentityNumber": "01010112345", "isReserved": "yes",'
        b' "organizationNumber": "987654321", "emailList": "post@demo.no"}],'
        b' "partyNames": [{"ssn": "01010112345", "orgNo": "987654321", "name": 7}]}'
    ),
}


def _lookup_persons(registry: HttpRegistry) -> object:
    return registry.persons(["01010112345"])


def _lookup_organizations(registry: HttpRegistry) -> object:
    return registry.organizations(["987654321"])


@pytest.mark.parametrize("failure", list(FAILURES))
@pytest.mark.parametrize(
    ("lookup", "path"),
    [
        (_lookup_persons, PERSONS_PATH),
        (_lookup_organizations, ORGANIZATIONS_PATH),
        (_lookup_persons, NAMES_PATH),
        (_lookup_organizations, NAMES_PATH),
    ],
    ids=["persons", "organizations", "person names", "organization names"],
)
def test_every_failure_of_the_register_raises_registry_unavailable(
    register: FakeRegister,
    lookup: Callable[[HttpRegistry], object],
    path: str,
    failure: str,
) -> None:
    register.persons["01010112345"] = _person_entry("01010112345", email="ola@example.no")
    register.organizations["987654321"] = _organization_entry(
        "987654321", emails=["post@demo.no"], mobiles=[]
    )
    register.broken[path] = FAILURES[failure](register)
    registry = HttpRegistry(base_url=register.url, timeout_seconds=0.2)

    try:
        with pytest.raises(RegistryUnavailable):
            lookup(registry)
    finally:
        registry.close()


def test_an_unreachable_register_raises_registry_unavailable() -> None:
    # A port that was free a moment ago: nothing listens there, so the connection is refused.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    registry = HttpRegistry(base_url=f"http://127.0.0.1:{port}/", timeout_seconds=0.5)

    try:
        with pytest.raises(RegistryUnavailable, match="could not be reached"):
            registry.persons(["01010112345"])
        with pytest.raises(RegistryUnavailable, match="could not be reached"):
            registry.organizations(["987654321"])
    finally:
        registry.close()


# --- Self-identified users (users/contactpoint/lookupsi) --------------------------------------------

SI = "urn:altinn:person:legacy-selfidentified:"


def test_external_identities_sends_only_username_urns_and_matches_the_answer_without_case(
    register: FakeRegister, registry: HttpRegistry
) -> None:
    register.identities[f"{SI}Ola"] = {
        "externalIdentity": f"{SI}ola",  # the register's own spelling
        "email": " ola@example.no ",
        "mobileNumber": "99315000",
    }
    register.identities[f"{SI}kari"] = {"externalIdentity": f"{SI}kari", "email": None, "mobileNumber": None}

    found = registry.external_identities(
        [
            f"{SI}Ola",
            f"{SI}kari",
            f"{SI}unknown",
            "urn:altinn:person:idporten-email:per@example.no",
            f"{SI}Ola",
        ]
    )

    assert found == {
        f"{SI}Ola": ExternalIdentityContact(
            f"{SI}Ola", mobile_number="+4799315000", email_address="ola@example.no"
        ),
        f"{SI}kari": ExternalIdentityContact(f"{SI}kari", mobile_number=None, email_address=None),
    }
    # One request, each username URN once; the ID-porten email URN carries its address and is not sent.
    assert [(path, body) for path, body, _ in register.requests] == [
        (EXTERNAL_IDENTITIES_PATH, {"externalIdentities": sorted([f"{SI}Ola", f"{SI}kari", f"{SI}unknown"])})
    ]


def test_external_identities_without_username_urns_asks_nothing(
    register: FakeRegister, registry: HttpRegistry
) -> None:
    assert registry.external_identities(["urn:altinn:person:idporten-email:per@example.no"]) == {}
    assert registry.external_identities([]) == {}
    assert register.requests == []


@pytest.mark.parametrize(
    "answer",
    [b"[]", b'{"contactPointsList": {}}', b'{"contactPointsList": [{"externalIdentity": 5}]}', b"not json"],
)
def test_external_identities_malformed_answer_is_registry_unavailable(
    register: FakeRegister, registry: HttpRegistry, answer: bytes
) -> None:
    register.broken[EXTERNAL_IDENTITIES_PATH] = lambda handler: _send(handler, 200, answer)
    with pytest.raises(RegistryUnavailable):
        registry.external_identities([f"{SI}ola"])


def test_external_identities_server_error_is_registry_unavailable(
    register: FakeRegister, registry: HttpRegistry
) -> None:
    register.broken[EXTERNAL_IDENTITIES_PATH] = lambda handler: _send(handler, 503, b"{}")
    with pytest.raises(RegistryUnavailable):
        registry.external_identities([f"{SI}ola"])
