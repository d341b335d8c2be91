"""Every problem answer carries a stable ``code`` from the one registry, and the docs list that registry."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from core import problem_codes
from core.problem_codes import BY_CODE, REGISTRY
from core.problems import ApplicationError, problem_exception_handler
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

API = "/notifications/api/v1"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "problems.md"


def _code(response: Any, status: int) -> str:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    code: str = response.json()["code"]
    assert code in BY_CODE, code
    assert BY_CODE[code].status == status
    return code


# --- The registry ---


def test_codes_and_problems_are_each_listed_once() -> None:
    assert len({entry.code for entry in REGISTRY}) == len(REGISTRY)
    assert len({(entry.status, entry.title) for entry in REGISTRY}) == len(REGISTRY)
    general = Counter(entry.status for entry in REGISTRY if entry.general)
    assert all(count == 1 for count in general.values()), general
    assert all(re.fullmatch(r"NOT-\d{5}", entry.code) for entry in REGISTRY)


def test_the_references_codes_keep_its_numbers_statuses_and_titles() -> None:
    assert [(e.code, e.status) for e in REGISTRY if e.code < "NOT-10000"] == [
        ("NOT-00001", 422),
        ("NOT-00002", 499),
        ("NOT-00003", 404),
        ("NOT-00004", 503),
    ]
    assert BY_CODE["NOT-00003"].title == "Shipment not found"


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def test_every_domain_error_has_its_own_entry() -> None:
    # Imported by Django's app loading (URLconf and apps), so every subclass is known here.
    Client().get("/health/live")
    for error in [ApplicationError, *_subclasses(ApplicationError)]:
        if error.__name__ == "ApplicationError" or error.__name__ == "AltinnProblem":
            continue
        code = problem_codes.code_for(error.status_code, error.title)
        assert BY_CODE[code].title == error.title, error
        if getattr(error, "code", ""):
            assert error.code == code  # type: ignore[attr-defined]


def test_the_docs_list_equals_the_registry() -> None:
    rows = re.findall(r"^\| `(NOT-\d{5})` \| (\d{3}) \| (.+?) \|", DOCS.read_text(), re.MULTILINE)

    assert [(code, int(status), title) for code, status, title in rows] == [
        (entry.code, entry.status, entry.title) for entry in REGISTRY
    ]


def test_the_openapi_problem_schema_lists_every_code(api_client: APIClient) -> None:
    schema = api_client.get(f"{API}/openapi.json").json()
    problem = schema["components"]["schemas"]["Problem"]
    (ref,) = problem["properties"]["code"]["allOf"]
    assert ref == {"$ref": "#/components/schemas/ProblemCodeEnum"}
    enum = schema["components"]["schemas"]["ProblemCodeEnum"]["enum"]

    assert enum == [entry.code for entry in REGISTRY]


# --- Every kind of answer ---


def test_validation_400(api_client: APIClient) -> None:
    response = api_client.post(f"{API}/orders/sms", data="{}", content_type="application/json")
    assert _code(response, 400) == "NOT-10001"


def test_unreadable_body_400(api_client: APIClient) -> None:
    response = api_client.post(f"{API}/orders/sms", data="{not json", content_type="application/json")
    assert _code(response, 400) == "NOT-10002"


def test_future_validation_400(api_client: APIClient) -> None:
    response = api_client.get(f"{API}/future/shipment/feed?orderBy=Sideways")
    assert _code(response, 400) == "NOT-10001"


def test_401_without_a_token() -> None:
    assert _code(APIClient().get(f"{API}/whoami"), 401) == "NOT-10003"


def test_401_for_an_expired_token(make_token: Callable[..., str]) -> None:
    response = APIClient().get(f"{API}/whoami", HTTP_AUTHORIZATION=f"Bearer {make_token(expires_in=-1)}")
    assert _code(response, 401) == "NOT-10003"


def test_403_without_the_scope(make_token: Callable[..., str]) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(scopes=[])}")
    response = client.post(f"{API}/orders/sms", data="{}", content_type="application/json")
    assert _code(response, 403) == "NOT-10004"


def test_404_unknown_order_and_unknown_url(api_client: APIClient) -> None:
    # GET of an unknown order is a bare 404 without a body, as the reference's; cancel answers a problem.
    assert _code(api_client.put(f"{API}/orders/{uuid.uuid4()}/cancel"), 404) == "NOT-10005"
    assert _code(Client().get("/no/such/page"), 404) == "NOT-10005"


def test_404_shipment_and_chain_use_their_own_codes(api_client: APIClient) -> None:
    assert _code(api_client.get(f"{API}/future/shipment/{uuid.uuid4()}"), 404) == "NOT-00003"
    assert _code(api_client.get(f"{API}/future/orders/chain/{uuid.uuid4()}"), 404) == "NOT-10006"


def test_405(api_client: APIClient) -> None:
    assert _code(api_client.delete(f"{API}/orders/{uuid.uuid4()}"), 405) == "NOT-10007"


def test_409_cancel_too_late(api_client: APIClient) -> None:
    order = OrderFactory(creator="ttd", requested_send_time=timezone.now())
    assert _code(api_client.put(f"{API}/orders/{order.id}/cancel"), 409) == "NOT-10010"


def test_413(api_client: APIClient, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    body = '{"body": "' + "x" * 200 + '", "recipients": [{"mobileNumber": "+4799999999"}]}'
    response = api_client.post(f"{API}/orders/sms", data=body, content_type="application/json")
    assert _code(response, 413) == "NOT-10014"


def test_415(api_client: APIClient) -> None:
    response = api_client.post(f"{API}/orders/sms", data={"body": "x"}, format="multipart")
    assert _code(response, 415) == "NOT-10015"


def test_429(make_token: Callable[..., str], settings: Any) -> None:
    settings.NOTIFICATIONS_RATE_LIMIT_PER_MINUTE = 1
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(org=f'org-{uuid.uuid4().hex[:8]}')}")
    client.get(f"{API}/whoami")
    assert _code(client.get(f"{API}/whoami"), 429) == "NOT-10017"


@pytest.mark.urls("tests.notifications_project.serving_urls")
def test_500() -> None:
    response = Client(raise_request_exception=False).get("/test-only/fails")
    assert _code(response, 500) == "NOT-10018"


def test_503_database_unavailable() -> None:
    response = problem_exception_handler(OperationalError("connection refused"), {})
    assert response is not None
    assert response.data["code"] == "NOT-10019"
    assert BY_CODE["NOT-10019"].status == response.status_code == 503


@pytest.fixture
def _webhooks(settings: Any) -> None:
    settings.NOTIFICATIONS_ANYMAIL_ESP = "postmark"
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:s3cret", "POSTMARK_SERVER_TOKEN": "token"}
    settings.NOTIFICATIONS_WEBHOOK_MAX_BYTES = 4096
    settings.NOTIFICATIONS_TWILIO_AUTH_TOKEN = "twilio-token"


@pytest.mark.usefixtures("_webhooks")
def test_webhook_problems() -> None:
    twilio = f"{API}/webhooks/twilio/status"
    anymail = f"{API}/webhooks/anymail/postmark/tracking/"
    auth = "Basic aG9vazpzM2NyZXQ="  # hook:s3cret
    form = "application/x-www-form-urlencoded"

    assert _code(Client().post(twilio, "a=1", content_type=form), 401) == "NOT-10003"
    response = Client().post(anymail, "{not json", content_type="application/json", HTTP_AUTHORIZATION=auth)
    assert _code(response, 400) == "NOT-10002"
    big = "[" + " " * 5000 + "]"
    response = Client().post(anymail, big, content_type="application/json", HTTP_AUTHORIZATION=auth)
    assert _code(response, 413) == "NOT-10014"


def test_metrics_problems(settings: Any) -> None:
    settings.NOTIFICATIONS_METRICS_TOKEN = "m3trics"
    assert _code(Client().get("/metrics"), 401) == "NOT-10003"
    assert _code(Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong"), 401) == "NOT-10003"
