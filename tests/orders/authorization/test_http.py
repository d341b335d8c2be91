"""The XACML HTTP authorization backend against a local decision point (fakes.pdp) on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.exceptions import ImproperlyConfigured

from fakes.pdp import PdpFake
from orders.authorization import get_authorization
from orders.authorization.base import AccessQuestion, AuthorizationUnavailable
from orders.authorization.http import HttpAuthorization


@pytest.fixture
def pdp() -> Iterator[PdpFake]:
    fake = PdpFake().start()
    yield fake
    fake.stop()


@pytest.fixture
def backend(pdp: PdpFake) -> Iterator[HttpAuthorization]:
    client = HttpAuthorization(url=pdp.url, timeout_seconds=10, subscription_key="key-1")
    yield client
    client.close()


def question(user_id: int | None, *, nin: str | None = None, party: int | None = 50001) -> AccessQuestion:
    return AccessQuestion("311000179", party, user_id, nin)


def test_the_request_is_the_xacml_json_multi_request_the_reference_sends(
    pdp: PdpFake, backend: HttpAuthorization
) -> None:
    backend.permitted(
        [question(20001), question(None, nin="05057012345", party=None)], resource_id="svc", action="read"
    )

    [(request, headers)] = pdp.requests
    assert headers["Ocp-Apim-Subscription-Key"] == "key-1"
    body = request["Request"]
    subjects = {c["Id"]: c["Attribute"][0] for c in body["AccessSubject"]}
    assert {(a["AttributeId"], a["Value"], a["IncludeInResult"]) for a in subjects.values()} == {
        ("urn:altinn:userid", "20001", True),
        ("urn:altinn:person:identifier-no", "05057012345", True),
    }
    [action] = body["Action"]
    assert action["Attribute"][0]["AttributeId"] == "urn:oasis:names:tc:xacml:1.0:action:action-id"
    assert action["Attribute"][0]["Value"] == "read"
    resources = {c["Id"]: {a["AttributeId"]: a["Value"] for a in c["Attribute"]} for c in body["Resource"]}
    assert sorted(resources.values(), key=len) == [
        {"urn:altinn:resource": "svc", "urn:altinn:partyid": "50001"},
        {"urn:altinn:resource": "svc", "urn:altinn:organization:identifier-no": "311000179"},
    ]
    references = body["MultiRequests"]["RequestReference"]
    assert len(references) == 2
    for reference in references:
        subject, act, resource = reference["ReferenceId"]
        assert subject in subjects
        assert act == "action"
        assert resource in resources


def test_an_app_resource_becomes_org_and_app_attributes(pdp: PdpFake, backend: HttpAuthorization) -> None:
    backend.permitted([question(20001)], resource_id="app_ttd_my_app", action="read")
    [resource] = pdp.requests[0][0]["Request"]["Resource"]
    values = {a["AttributeId"]: a["Value"] for a in resource["Attribute"]}
    assert values == {"urn:altinn:org": "ttd", "urn:altinn:app": "my_app", "urn:altinn:partyid": "50001"}


def test_only_permit_permits(pdp: PdpFake, backend: HttpAuthorization) -> None:
    pdp.permits = {("20001", "50001", "sign")}
    pdp.decisions = {"20002": "Deny", "20003": "Indeterminate"}
    asked = [question(20001), question(20002), question(20003), question(20004)]  # 20004: NotApplicable

    assert backend.permitted(asked, resource_id="svc", action="sign") == {question(20001)}
    # The same person for another action is not permitted.
    assert backend.permitted(asked, resource_id="svc", action="read") == set()


def test_a_person_known_by_nin_only_is_asked_and_permitted_by_nin(
    pdp: PdpFake, backend: HttpAuthorization
) -> None:
    pdp.permits = {("05057012345", "311000179", "read")}
    asked = question(None, nin="05057012345", party=None)
    assert backend.permitted([asked], resource_id="svc", action="read") == {asked}


def test_501_questions_are_asked_in_two_requests_of_500_and_1(
    pdp: PdpFake, backend: HttpAuthorization
) -> None:
    asked = [question(30000 + n) for n in range(501)]
    pdp.permits = {(str(30000 + n), "50001", "read") for n in range(0, 501, 2)}

    permitted = backend.permitted(asked, resource_id="svc", action="read")

    sizes = [len(r["Request"]["MultiRequests"]["RequestReference"]) for r, _ in pdp.requests]
    assert sizes == [500, 1]
    assert [len(r["Request"]["AccessSubject"]) for r, _ in pdp.requests] == [500, 1]
    assert permitted == {q for n, q in enumerate(asked) if n % 2 == 0}
    assert question(30500) in permitted  # the one in the second request


def test_no_questions_make_no_request(pdp: PdpFake, backend: HttpAuthorization) -> None:
    assert backend.permitted([], resource_id="svc", action="read") == set()
    assert pdp.requests == []


@pytest.mark.parametrize("status", [500, 503, 401, 404])
def test_an_error_status_is_a_dependency_failure(
    pdp: PdpFake, backend: HttpAuthorization, status: int
) -> None:
    pdp.status = status
    with pytest.raises(AuthorizationUnavailable, match=str(status)):
        backend.permitted([question(20001)], resource_id="svc", action="read")


@pytest.mark.parametrize(
    "body", [b"not json", b"{}", b'{"Response": "x"}', b'{"Response": [{"Category": []}]}']
)
def test_a_malformed_answer_is_a_dependency_failure(
    pdp: PdpFake, backend: HttpAuthorization, body: bytes
) -> None:
    pdp.body = body
    with pytest.raises(AuthorizationUnavailable, match="malformed"):
        backend.permitted([question(20001)], resource_id="svc", action="read")


def test_a_timeout_is_a_dependency_failure(pdp: PdpFake) -> None:
    pdp.delay = 5
    client = HttpAuthorization(url=pdp.url, timeout_seconds=0.2)
    try:
        with pytest.raises(AuthorizationUnavailable, match="in time"):
            client.permitted([question(20001)], resource_id="svc", action="read")
    finally:
        client.close()


def test_a_refused_connection_is_a_dependency_failure() -> None:
    client = HttpAuthorization(url="http://127.0.0.1:9/decision", timeout_seconds=0.5)
    try:
        with pytest.raises(AuthorizationUnavailable):
            client.permitted([question(20001)], resource_id="svc", action="read")
    finally:
        client.close()


def test_the_outbound_guard_refuses_an_internal_address_not_allowed(pdp: PdpFake, settings) -> None:
    settings.NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS = []
    client = HttpAuthorization(url=pdp.url, timeout_seconds=0.5)
    try:
        with pytest.raises(AuthorizationUnavailable, match="not allowed"):
            client.permitted([question(20001)], resource_id="svc", action="read")
    finally:
        client.close()
    assert pdp.requests == []


def test_settings_choose_the_backend(settings, pdp: PdpFake) -> None:
    settings.NOTIFICATIONS_AUTHORIZATION_BACKEND = "http"
    settings.NOTIFICATIONS_AUTHORIZATION_URL = pdp.url
    settings.NOTIFICATIONS_AUTHORIZATION_BATCH_SIZE = 2
    backend = get_authorization()
    assert isinstance(backend, HttpAuthorization)
    assert get_authorization() is backend  # one pooled client per configuration
    backend.permitted([question(1), question(2), question(3)], resource_id="svc", action="read")
    assert len(pdp.requests) == 2

    settings.NOTIFICATIONS_AUTHORIZATION_URL = ""
    with pytest.raises(ImproperlyConfigured, match="NOTIFICATIONS_AUTHORIZATION_URL"):
        get_authorization()
