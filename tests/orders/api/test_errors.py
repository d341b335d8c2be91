"""Bad requests are clear 4xx problem details, never a 500: malformed JSON, wrong types, oversized bodies,
bad ids, wrong media types, and every authentication failure on every endpoint."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from orders.models import Order
from tests.factories import OrderFactory
from tests.orders.api.conftest import API, post_json

pytestmark = pytest.mark.django_db

ORDER_ID = "f1a1cc30-197f-4f34-8304-006ce4945fd1"
# Every endpoint with the method it answers; {id} is filled in per test.
ENDPOINTS = [
    ("post", "/orders"),
    ("post", "/orders/sms"),
    ("post", "/orders/email"),
    ("get", "/orders?sendersReference=x"),
    ("get", "/orders/{id}"),
    ("get", "/orders/{id}/status"),
    ("put", "/orders/{id}/cancel"),
    ("get", "/orders/{id}/notifications/email"),
    ("get", "/orders/{id}/notifications/sms"),
    ("get", "/order/{id}"),
    ("get", "/order/{id}/status"),
    ("put", "/order/{id}/cancel"),
    ("get", "/order/{id}/notifications/email"),
    ("get", "/order/{id}/notifications/sms"),
]
ID_ENDPOINTS = [(method, path) for method, path in ENDPOINTS if "{id}" in path]


def _call(client: APIClient, method: str, path: str, order_id: str = ORDER_ID) -> Any:
    url = f"{API}{path.format(id=order_id)}"
    body = json.dumps({"body": "x", "recipients": [{"mobileNumber": "+4799999999"}]})
    return getattr(client, method)(
        url, data=body if method == "post" else None, content_type="application/json"
    )


def _assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    return problem


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_without_a_token_is_401(method: str, path: str) -> None:
    response = _call(APIClient(), method, path)

    _assert_problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not Order.objects.exists()


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize(
    "token_kwargs",
    [
        {"expires_in": -120},  # expired
        {"kid": "no-such-key"},  # signed by an unknown key
    ],
)
def test_every_endpoint_with_an_invalid_token_is_401(
    make_token: Callable[..., str], method: str, path: str, token_kwargs: dict[str, Any]
) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(**token_kwargs)}")

    _assert_problem(_call(client, method, path), 401)


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize(
    "token_kwargs",
    [
        {"scopes": ["dummy:scope"]},  # a service owner without the notifications scope
        {"org": None},  # the scope, but no organisation: no creator
    ],
)
def test_every_endpoint_with_a_token_lacking_scope_or_creator_is_403(
    make_token: Callable[..., str], method: str, path: str, token_kwargs: dict[str, Any]
) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(**token_kwargs)}")

    _assert_problem(_call(client, method, path), 403)
    assert not Order.objects.exists()


def test_platform_access_token_alone_is_enough_and_its_issuer_is_the_creator(
    make_token: Callable[..., str],
) -> None:
    client = APIClient()
    client.credentials(HTTP_PLATFORMACCESSTOKEN=make_token(org="digdir", platform=True))

    response = post_json(
        client, "/orders/sms", {"body": "x", "recipients": [{"mobileNumber": "+4799999999"}]}
    )

    assert response.status_code == 202
    assert Order.objects.get(id=response.json()["orderId"]).creator == "digdir"


@pytest.mark.parametrize(
    "raw",
    [
        '{"body": "x", "recipients": [',  # truncated
        "{'body': 'x'}",  # not JSON
        '{"body": NaN, "recipients": []}',  # NaN is not JSON
        "[" * 100_000 + "]" * 100_000,  # nested beyond the parser's stack
    ],
)
@pytest.mark.parametrize("path", ["/orders", "/orders/sms", "/orders/email"])
def test_malformed_json_is_a_400_problem(api_client: APIClient, raw: str, path: str) -> None:
    response = api_client.post(f"{API}{path}", data=raw, content_type="application/json")

    problem = _assert_problem(response, 400)
    assert problem["detail"].startswith("JSON parse error")


def test_body_that_is_not_utf8_is_a_400_problem(api_client: APIClient) -> None:
    response = api_client.post(f"{API}/orders/sms", data=b'{"body": "\xff"}', content_type="application/json")

    _assert_problem(response, 400)


@pytest.mark.parametrize("document", ["[]", '"text"', "42", "null", "true"])
def test_json_that_is_not_an_object_is_a_400_problem(api_client: APIClient, document: str) -> None:
    response = api_client.post(f"{API}/orders/sms", data=document, content_type="application/json")

    problem = _assert_problem(response, 400)
    assert list(problem["errors"]) == [""]


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("body", 123, "body"),
        ("body", ["x"], "body"),
        ("senderNumber", 4799999999, "senderNumber"),
        ("sendersReference", {"a": 1}, "sendersReference"),
        ("ignoreReservation", "yes", "ignoreReservation"),
        ("ignoreReservation", 1, "ignoreReservation"),
        ("requestedSendTime", True, "requestedSendTime"),
        ("conditionEndpoint", 42, "conditionEndpoint"),
        ("resourceId", [], "resourceId"),
        ("recipients", "+4799999999", "recipients"),
        ("recipients", {"mobileNumber": "+4799999999"}, "recipients"),
        ("recipients", ["+4799999999"], "recipients[0]"),
        ("recipients", [{"mobileNumber": 4799999999}], "recipients[0].mobileNumber"),
        ("recipients", [{"nationalIdentityNumber": 11876995923}], "recipients[0].nationalIdentityNumber"),
    ],
)
def test_wrong_json_types_are_reported_at_their_path(
    api_client: APIClient, field: str, value: Any, path: str
) -> None:
    body = {"body": "x", "recipients": [{"mobileNumber": "+4799999999"}], field: value}

    problem = _assert_problem(post_json(api_client, "/orders/sms", body), 400)

    assert path in problem["errors"]
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("template", "value", "path"),
    [
        ("emailTemplate", "text", "emailTemplate"),
        ("emailTemplate", {"subject": 1, "body": "b"}, "emailTemplate.subject"),
        (
            "emailTemplate",
            {"subject": "s", "body": "b", "contentType": "Markdown"},
            "emailTemplate.contentType",
        ),
        ("smsTemplate", [], "smsTemplate"),
        ("smsTemplate", {"body": False}, "smsTemplate.body"),
    ],
)
def test_wrong_template_types_are_reported_at_their_path(
    api_client: APIClient, template: str, value: Any, path: str
) -> None:
    body = {
        "notificationChannel": "EmailAndSms",
        "recipients": [{"emailAddress": "a@example.com"}],
        "emailTemplate": {"subject": "s", "body": "b"},
        "smsTemplate": {"body": "t"},
        template: value,
    }

    problem = _assert_problem(post_json(api_client, "/orders", body), 400)

    assert path in problem["errors"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/orders/sms", {"body": "a\u0000b", "recipients": [{"mobileNumber": "+4799999999"}]}, "body"),
        (
            "/orders/sms",
            {"body": "x", "sendersReference": "\u0000", "recipients": [{"mobileNumber": "+4799999999"}]},
            "sendersReference",
        ),
        # The SMS channel ignores email addresses, so nothing else would stop this one reaching the database.
        (
            "/orders/sms",
            {"body": "x", "recipients": [{"mobileNumber": "+4799999999", "emailAddress": "a\u0000@b.no"}]},
            "recipients[0].emailAddress",
        ),
    ],
)
def test_nul_characters_are_a_400_not_a_database_error(
    api_client: APIClient, path: str, body: dict[str, Any], field: str
) -> None:
    problem = _assert_problem(post_json(api_client, path, body), 400)

    assert field in problem["errors"]


def test_unknown_fields_are_ignored(api_client: APIClient) -> None:
    body = {"body": "x", "recipients": [{"mobileNumber": "+4799999999", "isReserved": True}], "extra": 1}

    assert post_json(api_client, "/orders/sms", body).status_code == 202


def test_recipient_addresses_longer_than_their_column_are_refused(api_client: APIClient) -> None:
    body = {"subject": "s", "body": "b", "recipients": [{"emailAddress": "a" * 320 + "@example.com"}]}

    problem = _assert_problem(post_json(api_client, "/orders/email", body), 400)

    assert "recipients[0].emailAddress" in problem["errors"]


def test_body_larger_than_the_limit_is_a_413_problem(api_client: APIClient, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {"body": "x" * 2000, "recipients": [{"mobileNumber": "+4799999999"}]}

    response = post_json(api_client, "/orders/sms", body)

    problem = _assert_problem(response, 413)
    assert problem["title"] == "Payload Too Large"
    assert "1000 bytes" in problem["detail"]
    assert not Order.objects.exists()


def test_body_at_the_limit_is_parsed(api_client: APIClient, settings: Any) -> None:
    body = json.dumps({"body": "x", "recipients": [{"mobileNumber": "+4799999999"}]})
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = len(body)

    response = api_client.post(f"{API}/orders/sms", data=body, content_type="application/json")

    assert response.status_code == 202


def test_body_longer_than_its_declared_length_is_still_capped(api_client: APIClient, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    body = json.dumps({"body": "x" * 500, "recipients": [{"mobileNumber": "+4799999999"}]})

    # A client that understates Content-Length: the parser still reads no more than the limit + 1.
    response = api_client.generic(
        "POST", f"{API}/orders/sms", data=body, content_type="application/json", CONTENT_LENGTH="50"
    )

    assert response.status_code in (400, 413)
    assert not Order.objects.exists()


def test_form_encoded_body_is_a_415_problem(api_client: APIClient) -> None:
    response = api_client.post(f"{API}/orders/sms", data={"body": "x"}, format="multipart")

    _assert_problem(response, 415)


def test_body_without_content_type_is_a_415_problem(api_client: APIClient) -> None:
    response = api_client.generic("POST", f"{API}/orders/sms", data='{"body": "x"}', content_type="")

    _assert_problem(response, 415)


@pytest.mark.parametrize(("method", "path"), ID_ENDPOINTS)
@pytest.mark.parametrize("bad_id", ["not-a-guid", "1234", "f1a1cc30-197f-4f34-8304-006ce4945fdZ"])
def test_an_id_that_is_not_a_uuid_is_a_400_problem(
    api_client: APIClient, method: str, path: str, bad_id: str
) -> None:
    problem = _assert_problem(_call(api_client, method, path, bad_id), 400)

    assert problem["errors"] == {"id": ["The order id must be a UUID."]}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("delete", "/orders/{id}"),
        ("post", "/orders/{id}/cancel"),
        ("put", "/orders/sms"),
        ("get", "/orders/email"),
    ],
)
def test_methods_an_endpoint_does_not_answer_are_405_problems(
    api_client: APIClient, method: str, path: str
) -> None:
    response = getattr(api_client, method)(f"{API}{path.format(id=uuid.uuid4())}")

    _assert_problem(response, 405)


def test_list_without_senders_reference_is_a_400_problem(api_client: APIClient) -> None:
    problem = _assert_problem(api_client.get(f"{API}/orders"), 400)

    assert problem["errors"] == {"sendersReference": ["The sendersReference query parameter is required."]}


@pytest.mark.parametrize(("method", "path"), ID_ENDPOINTS)
def test_another_creators_order_is_indistinguishable_from_an_unknown_one(
    api_client: APIClient, method: str, path: str
) -> None:
    theirs = OrderFactory(creator="nav")

    foreign = _call(api_client, method, path, str(theirs.id))
    unknown = _call(api_client, method, path, str(uuid.uuid4()))

    assert foreign.status_code == unknown.status_code == 404
    assert foreign.content == unknown.content
    assert foreign.get("Content-Type") == unknown.get("Content-Type")
