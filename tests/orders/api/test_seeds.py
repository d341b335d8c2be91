"""The API contract documents: every example request, sent as written (host swapped, a real token),
gets the documented status and response shape."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from dispatch.services.processing import order_process
from orders.models import EmailStatus, Order, SmsStatus
from tests.factories import EmailNotificationFactory, OrderFactory, SmsNotificationFactory
from tests.orders.api.conftest import API

pytestmark = pytest.mark.django_db

SEED_ORDER_ID = "f1a1cc30-197f-4f34-8304-006ce4945fd1"


@pytest.fixture(params=["bearer", "platform"])
def seed_client(request: pytest.FixtureRequest, make_token: Callable[..., str]) -> APIClient:
    """The seeds show both headers and say either one is enough: try each."""
    client = APIClient()
    if request.param == "bearer":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(org='ttd')}")
    else:
        client.credentials(HTTP_PLATFORMACCESSTOKEN=make_token(org="ttd", platform=True))
    return client


def _send(client: APIClient, method: str, path: str, raw_body: str | None = None) -> Any:
    # As the curl examples: Content-Type application/json on every request, the body as raw text.
    return client.generic(method, f"{API}{path}", data=raw_body or "", content_type="application/json")


SMS_SEED_BODY = """{
    "sendersReference": "ref-2024-01-01",
	"body": "A text message to be sent immediately from an org.",
    "recipients":[
        {"mobileNumber":"+4799999999"},
        {"nationalIdentityNumber":"11876995923"},
        {"organizationNumber":"311000179"}]
}"""

SMS_KEYWORDS_SEED_BODY = """{
    "sendersReference": "ref-2024-02-01",
    "body": "Dear $recipientName$, this is an official notification regarding your organization, \
identified by the organization number $recipientNumber$. Please take the necessary actions.",
    "recipients":[{"organizationNumber":"311000179"}]
}"""


def test_sms_order_seed_is_accepted_with_the_documented_receipt(
    seed_client: APIClient, registry_person: Callable[..., Any], registry_organization: Callable[..., Any]
) -> None:
    registry_person("11876995923", reserved=True, mobile="+4799999998")
    registry_organization("311000179", mobiles=("+4791234567",))

    response = _send(seed_client, "POST", "/orders/sms", SMS_SEED_BODY)

    assert response.status_code == 202
    body = response.json()
    order_id = body["orderId"]
    assert uuid.UUID(order_id)
    assert response["Location"] == f"http://testserver{API}/orders/{order_id}"
    # Exactly the seed's 202 example: the reserved person makes it a partial success.
    assert body["recipientLookup"] == {
        "status": "PartialSuccess",
        "isReserved": ["11876995923"],
        "missingContact": [],
    }
    order = Order.objects.get(id=order_id)
    assert order.creator == "ttd"
    assert order.sms_template is not None
    assert order.sms_template.sender_number == "Altinn"


def test_sms_order_with_keywords_seed_is_accepted(
    seed_client: APIClient, registry_organization: Callable[..., Any]
) -> None:
    registry_organization("311000179", mobiles=("+4791234567",))

    response = _send(seed_client, "POST", "/orders/sms", SMS_KEYWORDS_SEED_BODY)

    assert response.status_code == 202
    assert response.json()["recipientLookup"] == {"status": "Success", "isReserved": [], "missingContact": []}
    order = Order.objects.get(id=response.json()["orderId"])
    assert order.sms_template is not None
    assert "$recipientName$" in order.sms_template.body


def test_sms_order_seed_against_the_demo_registry_gets_the_documented_receipt(
    seed_client: APIClient, published: list[tuple[str, list[Any]]]
) -> None:
    # The registry as the embedded default fills it on its first start, nothing added by hand.
    call_command("import_contacts", "--demo", "--if-empty", stdout=io.StringIO())

    response = _send(seed_client, "POST", "/orders/sms", SMS_SEED_BODY)

    assert response.status_code == 202
    order_id = response.json()["orderId"]
    # The seed's 202 example, with the SMS part count every SMS receipt of this service adds.
    assert response.json() == {
        "orderId": order_id,
        "recipientLookup": {"status": "PartialSuccess", "isReserved": ["11876995923"], "missingContact": []},
        "smsPartCount": 1,
    }
    details = _send(seed_client, "GET", f"/orders/{order_id}").json()
    assert details["notificationChannel"] == "Sms"
    assert details["recipients"] == [
        {"mobileNumber": "+4799999999"},
        {"nationalIdentityNumber": "11876995923", "isReserved": True},
        {"organizationNumber": "311000179"},
    ]
    assert details["smsTemplate"] == {
        "senderNumber": "Altinn",
        "body": "A text message to be sent immediately from an org.",
    }

    order_process(order_id=uuid.UUID(order_id))
    summary = _send(seed_client, "GET", f"/orders/{order_id}/notifications/sms").json()

    # As the SMS notifications seed documents it: one notification per address, the reserved person's
    # born final; the organization's reaches the mobile number its demo entry holds.
    assert (summary["orderId"], summary["sendersReference"]) == (order_id, "ref-2024-01-01")
    assert (summary["generated"], summary["succeeded"]) == (3, 0)
    assert [(n["recipient"], n["sendStatus"]["status"]) for n in summary["notifications"]] == [
        ({"mobileNumber": "+4799999999"}, "New"),
        ({"nationalIdentityNumber": "11876995923"}, "Failed_RecipientReserved"),
        ({"organizationNumber": "311000179", "mobileNumber": "+4791234567"}, "New"),
    ]


def test_sms_order_seed_without_body_is_a_400_validation_problem(seed_client: APIClient) -> None:
    body = json.loads(SMS_SEED_BODY)
    del body["body"]

    response = _send(seed_client, "POST", "/orders/sms", json.dumps(body))

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == "One or more validation errors occurred."
    assert problem["status"] == 400
    assert problem["errors"] == {"body": ["The SMS template body must not be empty."]}


# The four example responses of "Get order details", and the request that registers each.
ORDER_DETAIL_SEEDS = [
    {
        "sendersReference": "demo-2023-01",
        "notificationChannel": "Email",
        "recipients": [{"emailAddress": "testuser_1@altinn.no"}],
        "emailTemplate": {
            "fromAddress": "noreply@altinn.no",
            "subject": "A test email from Altinn Notifications",
            "body": "A message sent from an application owner through Altinn.",
            "contentType": "Plain",
        },
    },
    {
        "sendersReference": "demo-2023-02",
        "notificationChannel": "Email",
        "recipients": [{"organizationNumber": "311000179"}],
        "emailTemplate": {
            "fromAddress": "noreply@altinn.no",
            "subject": "Important notification regarding your organization, $recipientName$",
            "body": "Dear $recipientName$, this is an official notification regarding your organization, "
            "identified by the organization number $recipientNumber$. Please take the necessary actions.",
            "contentType": "Plain",
        },
    },
    {
        "sendersReference": "demo-2023-03",
        "notificationChannel": "Sms",
        "recipients": [{"mobileNumber": "+4799999999"}],
        "smsTemplate": {
            "senderNumber": "Altinn",
            "body": "A text message sent by a service owner through Altinn.",
        },
    },
    {
        "sendersReference": "demo-2023-04",
        "notificationChannel": "Sms",
        "recipients": [{"organizationNumber": "311000179"}],
        "smsTemplate": {
            "senderNumber": "Altinn",
            "body": "Dear $recipientName$, this is an official notification regarding your organization, "
            "identified by the organization number $recipientNumber$. Please take the necessary actions.",
        },
    },
]


@pytest.mark.parametrize("registered", ORDER_DETAIL_SEEDS)
@pytest.mark.parametrize("prefix", ["/orders", "/order"])
def test_get_order_details_seed_returns_the_order_as_registered(
    seed_client: APIClient, registered: dict[str, Any], prefix: str
) -> None:
    created = _send(seed_client, "POST", "/orders", json.dumps(registered))
    assert created.status_code == 202
    order_id = created.json()["orderId"]

    response = _send(seed_client, "GET", f"{prefix}/{order_id}")

    assert response.status_code == 200
    body = response.json()
    expected = {
        "id": order_id,
        "creator": "ttd",
        **{key: value for key, value in registered.items()},
        "links": {
            "self": f"http://testserver{API}/orders/{order_id}",
            "status": f"http://testserver{API}/orders/{order_id}/status",
        },
    }
    times = {key: body.pop(key) for key in ("requestedSendTime", "created")}
    assert body == expected
    for value in times.values():
        assert value.endswith("Z")


@pytest.mark.parametrize("path", ["/orders/{id}", "/order/{id}"])
def test_get_order_details_seed_for_an_unknown_id_is_404_with_an_empty_body(
    seed_client: APIClient, path: str
) -> None:
    response = _send(seed_client, "GET", path.format(id=SEED_ORDER_ID))

    assert response.status_code == 404
    assert response.content == b""


@pytest.mark.parametrize("prefix", ["/orders", "/order"])
def test_get_email_notifications_seed_returns_the_documented_summary(
    seed_client: APIClient, prefix: str
) -> None:
    order = OrderFactory(id=SEED_ORDER_ID, email=True, senders_reference="ref-2023-12-01")
    notification = EmailNotificationFactory(
        order=order, to_address="recipient@domain.com", status=EmailStatus.NEW, recipient_position=0
    )

    response = _send(seed_client, "GET", f"{prefix}/{SEED_ORDER_ID}/notifications/email")

    assert response.status_code == 200
    body = response.json()
    last_update = body["notifications"][0]["sendStatus"].pop("lastUpdate")
    assert last_update.endswith("Z")
    assert body == {
        "orderId": SEED_ORDER_ID,
        "sendersReference": "ref-2023-12-01",
        "generated": 1,
        "succeeded": 0,
        "notifications": [
            {
                "id": str(notification.id),
                "succeeded": False,
                "recipient": {"emailAddress": "recipient@domain.com"},
                "sendStatus": {
                    "status": "New",
                    "description": (
                        "The email has been created, but has not been picked up for processing yet."
                    ),
                },
            }
        ],
    }


@pytest.mark.parametrize("prefix", ["/orders", "/order"])
def test_get_sms_notifications_seed_returns_the_documented_summary(
    seed_client: APIClient, prefix: str
) -> None:
    order = OrderFactory(id=SEED_ORDER_ID, senders_reference="ref-2023-12-01")
    notification = SmsNotificationFactory(
        order=order, mobile_number="+4799999999", status=SmsStatus.NEW, recipient_position=0
    )

    response = _send(seed_client, "GET", f"{prefix}/{SEED_ORDER_ID}/notifications/sms")

    assert response.status_code == 200
    body = response.json()
    assert body["notifications"][0]["sendStatus"].pop("lastUpdate").endswith("Z")
    assert body == {
        "orderId": SEED_ORDER_ID,
        "sendersReference": "ref-2023-12-01",
        "generated": 1,
        "succeeded": 0,
        "notifications": [
            {
                "id": str(notification.id),
                "succeeded": False,
                "recipient": {"mobileNumber": "+4799999999"},
                "sendStatus": {
                    "status": "New",
                    # The reference's text; the document's example writes "sms" in lower case.
                    "description": "The SMS has been created, but has not been picked up for processing yet.",
                },
            }
        ],
    }


@pytest.mark.parametrize("channel", ["email", "sms"])
@pytest.mark.parametrize("prefix", ["/orders", "/order"])
def test_get_notifications_seed_for_an_unknown_id_is_404_with_an_empty_body(
    seed_client: APIClient, channel: str, prefix: str
) -> None:
    response = _send(seed_client, "GET", f"{prefix}/{SEED_ORDER_ID}/notifications/{channel}")

    assert response.status_code == 404
    assert response.content == b""
