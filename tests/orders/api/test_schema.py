"""The OpenAPI document describes what the API really answers: real responses validate against it."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any

import jsonschema
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from orders.models import EmailStatus, OrderStatus, SmsStatus
from tests.factories import EmailNotificationFactory, OrderFactory, RecipientFactory, SmsNotificationFactory
from tests.orders.api.conftest import API, post_json

pytestmark = pytest.mark.django_db

ORDER_PATHS = [
    "/orders",
    "/orders/email",
    "/orders/sms",
    "/orders/{id}",
    "/orders/{id}/status",
    "/orders/{id}/cancel",
    "/orders/{id}/notifications/email",
    "/orders/{id}/notifications/sms",
]


@pytest.fixture
def schema(api_client: APIClient) -> dict[str, Any]:
    response = api_client.get(f"{API}/openapi.json", {"format": "json"})
    assert response.status_code == 200
    document: dict[str, Any] = json.loads(response.content)
    # Strict for the test: a response may not carry a property the document does not declare.
    for component in document["components"]["schemas"].values():
        if component.get("type") == "object" and "properties" in component:
            component.setdefault("additionalProperties", False)
    return document


def assert_matches(schema: dict[str, Any], path: str, method: str, response: Any) -> None:
    operation = schema["paths"][f"{API}{path}"][method]
    declared = operation["responses"][str(response.status_code)]
    content_type = response["Content-Type"].split(";")[0]
    body_schema = copy.deepcopy(declared["content"][content_type]["schema"])
    body_schema["components"] = schema["components"]
    jsonschema.validate(response.json(), body_schema)


def test_document_lists_every_order_endpoint_once(schema: dict[str, Any]) -> None:
    paths = {path.removeprefix(API) for path in schema["paths"]}

    assert set(ORDER_PATHS) <= paths
    # The singular /order/... aliases are served but not documented twice.
    assert not [path for path in paths if path.startswith("/order/")]


@pytest.mark.parametrize("path", ORDER_PATHS)
def test_every_operation_documents_its_error_statuses(schema: dict[str, Any], path: str) -> None:
    for operation in schema["paths"][f"{API}{path}"].values():
        statuses = set(operation["responses"])
        assert {"401", "403", "429", "503"} <= statuses
        assert "description" in operation or "summary" in operation
        if "{id}" in path:
            assert {"400", "404"} <= statuses


def test_receipts_match_the_document(
    schema: dict[str, Any], api_client: APIClient, registry_person: Any
) -> None:
    registry_person("11876995923", reserved=True)
    sms = post_json(
        api_client, "/orders/sms", {"body": "x", "recipients": [{"nationalIdentityNumber": "11876995923"}]}
    )
    email = post_json(
        api_client, "/orders/email", {"subject": "s", "body": "b", "recipients": [{"emailAddress": "a@b.no"}]}
    )
    generic = post_json(
        api_client,
        "/orders",
        {
            "notificationChannel": "Sms",
            "recipients": [{"mobileNumber": "+4799999999"}],
            "smsTemplate": {"body": "t"},
        },
    )

    assert_matches(schema, "/orders/sms", "post", sms)
    assert_matches(schema, "/orders/email", "post", email)
    assert_matches(schema, "/orders", "post", generic)
    assert "Location" in schema["paths"][f"{API}/orders/sms"]["post"]["responses"]["202"]["headers"]


def test_validation_problems_match_the_document(schema: dict[str, Any], api_client: APIClient) -> None:
    response = post_json(api_client, "/orders/sms", {"recipients": [{"mobileNumber": "1"}]})

    assert response.status_code == 400
    assert_matches(schema, "/orders/sms", "post", response)


def test_order_reads_match_the_document(schema: dict[str, Any], api_client: APIClient) -> None:
    order = OrderFactory(
        status=OrderStatus.PROCESSED,
        ignore_reservation=True,
        resource_id="urn:altinn:resource:x",
        resource_action="read",
        condition_endpoint="https://vg.no/cond",
    )
    RecipientFactory(
        order=order, position=0, mobile_number=None, national_identity_number="11876995923", is_reserved=True
    )
    SmsNotificationFactory(order=order, recipient_position=0, status=SmsStatus.DELIVERED)
    email = EmailNotificationFactory(status=EmailStatus.FAILED_TTL, recipient_organization_number="311000179")

    assert_matches(schema, "/orders/{id}", "get", api_client.get(f"{API}/orders/{order.id}"))
    assert_matches(schema, "/orders/{id}/status", "get", api_client.get(f"{API}/orders/{order.id}/status"))
    assert_matches(
        schema,
        "/orders",
        "get",
        api_client.get(f"{API}/orders", {"sendersReference": order.senders_reference}),
    )
    assert_matches(
        schema,
        "/orders/{id}/notifications/sms",
        "get",
        api_client.get(f"{API}/orders/{order.id}/notifications/sms"),
    )
    assert_matches(
        schema,
        "/orders/{id}/notifications/email",
        "get",
        api_client.get(f"{API}/orders/{email.order_id}/notifications/email"),
    )


def test_cancel_answers_match_the_document(schema: dict[str, Any], api_client: APIClient) -> None:
    cancellable = OrderFactory(requested_send_time=timezone.now() + timedelta(days=1))
    running = OrderFactory(status=OrderStatus.PROCESSING)

    assert_matches(
        schema, "/orders/{id}/cancel", "put", api_client.put(f"{API}/orders/{cancellable.id}/cancel")
    )
    assert_matches(schema, "/orders/{id}/cancel", "put", api_client.put(f"{API}/orders/{running.id}/cancel"))


def test_document_is_public_json() -> None:
    response = APIClient().get(f"{API}/openapi.json")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert json.loads(response.content)["openapi"].startswith("3.")


def test_swagger_ui_is_served() -> None:
    response = APIClient().get(f"{API}/docs")

    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
