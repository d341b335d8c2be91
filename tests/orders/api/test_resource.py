"""resourceId and resourceAction at registration: v1 orders and the future API's recipients."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from orders import validation
from orders.models import Order, Organization, OrganizationContact, Person
from tests.orders.api.conftest import post_json
from tests.orders.api.test_create import email_order, errors_of, generic_order, sms_order
from tests.orders.future.conftest import post_future
from tests.orders.future.test_chains import chain, organization, person

pytestmark = pytest.mark.django_db

V1_ORDERS = [("/orders/sms", sms_order), ("/orders/email", email_order), ("/orders", generic_order)]


@pytest.mark.parametrize(("path", "order"), V1_ORDERS)
@pytest.mark.parametrize(
    "resource",
    ["urn:altinn:resource:", "urn:altinn:resource:   ", "example-service", "URN:ALTINN:RESOURCE:x"],
)
def test_v1_refuses_a_resource_id_that_is_not_an_altinn_resource_urn(
    api_client: APIClient, path: str, order: Any, resource: str
) -> None:
    response = post_json(api_client, path, order(resourceId=resource))
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert errors_of(response) == {"resourceId": [validation.MSG_RESOURCE_ID_SYNTAX]}


@pytest.mark.parametrize(("path", "order"), V1_ORDERS)
def test_v1_stores_the_resource_and_leaves_the_action_to_its_default(
    api_client: APIClient, path: str, order: Any
) -> None:
    response = post_json(api_client, path, order(resourceId="urn:altinn:resource:example-service"))
    assert response.status_code == 202, response.content
    stored = Order.objects.get(id=response.json()["orderId"])
    assert (stored.resource_id, stored.resource_action) == ("urn:altinn:resource:example-service", None)
    read = api_client.get(f"/notifications/api/v1/orders/{stored.id}").json()
    assert read["resourceId"] == "urn:altinn:resource:example-service"


@pytest.mark.parametrize(("path", "order"), V1_ORDERS)
def test_v1_action_without_a_resource_is_refused_on_every_endpoint(
    api_client: APIClient, path: str, order: Any
) -> None:
    assert errors_of(post_json(api_client, path, order(resourceAction="read"))) == {
        "resourceAction": [validation.MSG_RESOURCE_ACTION_WITHOUT_RESOURCE]
    }


def test_v1_reports_a_bad_resource_and_a_blank_action_together(api_client: APIClient) -> None:
    response = post_json(api_client, "/orders/sms", sms_order(resourceId="svc", resourceAction=" "))
    assert errors_of(response) == {
        "resourceId": [validation.MSG_RESOURCE_ID_SYNTAX],
        "resourceAction": [validation.MSG_RESOURCE_ACTION_BLANK],
    }


@pytest.mark.parametrize("kind", [person, organization])
def test_future_recipients_check_the_resource_and_action(api_client: APIClient, kind: Any) -> None:
    identifier = "05057012345" if kind is person else "311000179"
    if kind is person:
        Person.objects.create(national_identity_number=identifier, email_address="ida@example.no")
    else:
        org = Organization.objects.create(organization_number=identifier)
        OrganizationContact.objects.create(organization=org, kind="email", address="post@example.no")
    key = "recipientPerson" if kind is person else "recipientOrganization"
    response = post_future(api_client, "/orders", chain(kind(identifier, resourceId="svc")))
    assert response.status_code == 400
    assert response.json()["errors"] == {f"recipient.{key}.resourceId": [validation.MSG_RESOURCE_ID_SYNTAX]}

    response = post_future(api_client, "/orders", chain(kind(identifier, resourceAction="read")))
    assert response.json()["errors"] == {
        f"recipient.{key}.resourceAction": [validation.MSG_RESOURCE_ACTION_WITHOUT_RESOURCE]
    }

    response = post_future(
        api_client,
        "/orders",
        chain(kind(identifier, resourceId="urn:altinn:resource:svc", resourceAction="sign")),
    )
    assert response.status_code == 201, response.content
    stored = Order.objects.get(id=response.json()["notification"]["shipmentId"])
    assert (stored.resource_id, stored.resource_action) == ("urn:altinn:resource:svc", "sign")
