"""POST /future/orders/composed-email: its scope, the reference's validation rules and messages, the
receipt, idempotency and what is stored. Nothing is fetched at registration (sending:
tests/dispatch/test_attachments.py).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from orders.models import EmailAttachment, NotificationChannel, Order, OrderChain, OrderStatus, OrderType
from tests.orders.future.conftest import FUTURE, post_future

pytestmark = pytest.mark.django_db

COMPOSED_SCOPE = "altinn:serviceowner/notifications.composedemail.create"
CREATE_SCOPE = "altinn:serviceowner/notifications.create"
PATH = "/orders/composed-email"


def attachment(**fields: Any) -> dict[str, Any]:
    item = {
        "filename": "vedtak.pdf",
        "mimeType": "application/pdf",
        "url": "https://files.example.no/vedtak/42.pdf?sig=abc",
    }
    item.update(fields)
    return {key: value for key, value in item.items() if value is not ...}


def composed(*attachments: dict[str, Any], **top: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "idempotencyId": f"composed-{uuid.uuid4()}",
        "sendersReference": "case-42",
        "recipient": {
            "emailAddress": "ola@example.no",
            "emailSettings": {
                "subject": "Vedtak",
                "body": "Vedtaket ligger vedlagt.",
                "attachments": list(attachments) if attachments else [attachment()],
            },
        },
    }
    body.update(top)
    return body


@pytest.fixture
def composed_client(make_token: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(scopes=[COMPOSED_SCOPE])}")
    return client


def _errors(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    errors: dict[str, list[str]] = response.json()["errors"]
    return errors


# --- the happy path -----------------------------------------------------------------------------------


def test_a_composed_email_is_registered_with_its_attachments_and_a_chain_receipt(
    composed_client: APIClient, published: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    body = composed(
        attachment(),
        attachment(filename="Vedlegg æøå.CSV", mimeType="TEXT/CSV", url="https://files.example.no/b.csv"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = post_future(composed_client, PATH, body)

    assert response.status_code == 201, response.content
    receipt = response.json()
    chain = OrderChain.objects.get(id=receipt["notificationOrderId"])
    assert receipt == {
        "notificationOrderId": str(chain.id),
        "notification": {"shipmentId": receipt["notification"]["shipmentId"], "sendersReference": "case-42"},
    }
    assert response["Location"].endswith(f"/future/orders/chain/{chain.id}")
    assert chain.type == OrderChain.Type.COMPOSED
    order = Order.objects.get(id=receipt["notification"]["shipmentId"])
    assert (order.type, order.notification_channel, order.chain_id) == (
        OrderType.COMPOSED,
        NotificationChannel.EMAIL,
        chain.id,
    )
    assert order.status == OrderStatus.REGISTERED
    assert order.email_template.subject == "Vedtak"
    assert [r.email_address for r in order.recipients.all()] == ["ola@example.no"]
    stored = list(
        EmailAttachment.objects.filter(order=order)
        .order_by("position")
        .values_list("filename", "mime_type", "url")
    )
    assert stored == [
        ("vedtak.pdf", "application/pdf", "https://files.example.no/vedtak/42.pdf?sig=abc"),
        ("Vedlegg æøå.CSV", "TEXT/CSV", "https://files.example.no/b.csv"),
    ]
    # Due now: handed to the pipeline (after commit), nothing fetched here.
    assert [name for name, _ in published] == ["dispatch.order_process"]


def test_attachments_are_optional(composed_client: APIClient) -> None:
    body = composed()
    body["recipient"]["emailSettings"].pop("attachments")

    response = post_future(composed_client, PATH, body)

    assert response.status_code == 201, response.content
    assert not EmailAttachment.objects.exists()


def test_a_repeat_gets_the_first_receipt_and_stores_nothing_new(composed_client: APIClient) -> None:
    body = composed()
    first = post_future(composed_client, PATH, body)
    body["recipient"]["emailAddress"] = "kari@example.no"

    again = post_future(composed_client, PATH, body)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Order.objects.count() == 1


def test_composed_emails_are_their_own_idempotency_namespace_and_scoped_to_the_creator(
    composed_client: APIClient, make_token: Any
) -> None:
    body = composed(idempotencyId="shared-id")
    chain = {
        "idempotencyId": "shared-id",
        "recipient": {
            "recipientEmail": {"emailAddress": "a@example.no", "emailSettings": {"subject": "s", "body": "b"}}
        },
    }
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(org='nav', scopes=[COMPOSED_SCOPE])}")
    creator = APIClient()
    creator.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token()}")

    assert post_future(composed_client, PATH, body).status_code == 201
    assert post_future(creator, "/orders", chain).status_code == 201
    # Another creator's id is not a repeat: it gets an email of its own.
    response = post_future(other, PATH, body)
    assert response.status_code == 201
    assert Order.objects.get(id=response.json()["notification"]["shipmentId"]).creator == "nav"
    assert OrderChain.objects.filter(idempotency_id="shared-id").count() == 3


def test_a_later_send_time_waits_and_its_shipment_reads_back(
    composed_client: APIClient,
    api_client: APIClient,
    published: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    later = timezone.now() + timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_future(composed_client, PATH, composed(requestedSendTime=later.isoformat()))

    assert response.status_code == 201
    assert published == []
    # Read with the create scope: the composed email scope allows nothing but the POST.
    shipment = api_client.get(f"{FUTURE}/shipment/{response.json()['notification']['shipmentId']}")
    assert shipment.status_code == 200
    assert shipment.json()["type"] == "Composed"
    assert shipment.json()["status"] == "Order_Registered"


# --- scope ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        {"scopes": [CREATE_SCOPE]},
        {"scopes": []},
        {"scopes": [COMPOSED_SCOPE], "org": None},
        {"platform": True},
    ],
    ids=["create-scope", "no-scope", "no-creator", "platform-token"],
)
def test_only_the_composed_email_scope_with_a_creator_may_post(
    make_token: Any, token: dict[str, Any]
) -> None:
    client = APIClient()
    if token.get("platform"):
        client.credentials(HTTP_PLATFORMACCESSTOKEN=make_token(platform=True))
    else:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(**token)}")

    response = post_future(client, PATH, composed())

    assert response.status_code == 403
    assert "composedemail.create" in response.json()["detail"]
    assert not OrderChain.objects.exists()


def test_without_a_token_the_answer_is_401() -> None:
    assert post_future(APIClient(), PATH, composed()).status_code == 401


def test_the_composed_email_scope_allows_no_other_endpoint(composed_client: APIClient) -> None:
    chain = {
        "idempotencyId": "x",
        "recipient": {
            "recipientEmail": {"emailAddress": "a@example.no", "emailSettings": {"subject": "s", "body": "b"}}
        },
    }
    assert post_future(composed_client, "/orders", chain).status_code == 403
    assert composed_client.get(f"{FUTURE}/shipment/feed").status_code == 403
    assert post_future(composed_client, "/orders/instant/email", {}).status_code == 403


# --- validation -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "field", "message"),
    [
        (attachment(filename=""), "filename", "Attachment filename must not be empty."),
        (attachment(filename=...), "filename", "Attachment filename must not be empty."),
        (
            attachment(filename="../etc/passwd.txt"),
            "filename",
            "Attachment '../etc/passwd.txt': filename must not contain path separators, and must include a "
            "file extension.",
        ),
        (
            attachment(filename="a\\b.pdf"),
            "filename",
            "Attachment 'a\\b.pdf': filename must not contain path separators, and must include a file "
            "extension.",
        ),
        (
            attachment(filename="README"),
            "filename",
            "Attachment 'README': filename must not contain path separators, and must include a file "
            "extension.",
        ),
        (
            attachment(filename="x.pdf\r\nBcc: a@b.c"),
            "filename",
            "Attachment 'x.pdf\\r\\nBcc: a@b.c': filename must not contain control characters.",
        ),
        (attachment(url=None), "url", "Attachment 'vedtak.pdf': url must not be null."),
        (attachment(url=...), "url", "Attachment 'vedtak.pdf': url must not be null."),
        (
            attachment(url="http://files.example.no/a.pdf"),
            "url",
            "Attachment 'vedtak.pdf': url must be an absolute HTTPS URI.",
        ),
        (
            attachment(url="/relative/a.pdf"),
            "url",
            "Attachment 'vedtak.pdf': url must be an absolute HTTPS URI.",
        ),
        (attachment(url="https://"), "url", "Attachment 'vedtak.pdf': url must be an absolute HTTPS URI."),
        (attachment(mimeType=""), "mimeType", "Attachment 'vedtak.pdf': mimeType must not be empty."),
        (attachment(mimeType=...), "mimeType", "Attachment 'vedtak.pdf': mimeType must not be empty."),
        (attachment(mimeType="text/html"), "mimeType", "Attachment 'vedtak.pdf': mimeType is not supported."),
        (
            attachment(mimeType="application/x-msdownload"),
            "mimeType",
            "Attachment 'vedtak.pdf': mimeType is not supported.",
        ),
    ],
)
def test_each_attachment_rule_is_a_400_naming_the_json_path(
    composed_client: APIClient, item: dict[str, Any], field: str, message: str
) -> None:
    errors = _errors(post_future(composed_client, PATH, composed(attachment(filename="ok.pdf"), item)))

    assert errors == {f"recipient.emailSettings.attachments[1].{field}": [message]}
    assert not OrderChain.objects.exists()


def test_a_null_attachment_item_is_named(composed_client: APIClient) -> None:
    errors = _errors(post_future(composed_client, PATH, composed(attachment(), None)))  # type: ignore[arg-type]

    assert errors == {"recipient.emailSettings.attachments[1]": ["Attachment item must not be null."]}


def test_a_filename_longer_than_255_characters_is_refused(composed_client: APIClient) -> None:
    errors = _errors(post_future(composed_client, PATH, composed(attachment(filename="a" * 252 + ".pdf"))))

    [message] = errors["recipient.emailSettings.attachments[0].filename"]
    assert message.endswith("filename must be at most 255 characters.")


def test_the_number_of_attachments_is_limited(composed_client: APIClient, settings: Any) -> None:
    settings.NOTIFICATIONS_ATTACHMENT_MAX_COUNT = 2

    errors = _errors(post_future(composed_client, PATH, composed(attachment(), attachment(), attachment())))

    assert errors == {"recipient.emailSettings.attachments": ["An email can have at most 2 attachments."]}


def test_the_host_allow_list_is_checked_when_set(composed_client: APIClient, settings: Any) -> None:
    settings.NOTIFICATIONS_ATTACHMENT_ALLOWED_HOSTS = ["*.blob.core.windows.net", "files.etaten.no"]
    allowed = [
        attachment(url="https://acct.blob.core.windows.net/c/a.pdf?sig=1"),
        attachment(url="https://FILES.etaten.no/a.pdf"),
    ]
    refused = attachment(url="https://files.example.no/a.pdf")

    assert post_future(composed_client, PATH, composed(*allowed)).status_code == 201
    errors = _errors(post_future(composed_client, PATH, composed(refused)))
    assert errors == {
        "recipient.emailSettings.attachments[0].url": ["Attachment 'vedtak.pdf': url host is not allowed."]
    }
    # A suffix is not a subdomain.
    evil = attachment(url="https://evilblob.core.windows.net/a.pdf")
    assert "recipient.emailSettings.attachments[0].url" in _errors(
        post_future(composed_client, PATH, composed(evil))
    )


def test_the_recipient_and_email_rules_are_the_reference_s(composed_client: APIClient) -> None:
    body = composed()
    body["recipient"]["emailAddress"] = "not-an-address"
    body["recipient"]["emailSettings"].update(subject="", body="", sendingTimePolicy="Daytime")
    errors = _errors(post_future(composed_client, PATH, body))

    assert set(errors) >= {
        "recipient.emailAddress",
        "recipient.emailSettings.subject",
        "recipient.emailSettings.body",
        "recipient.emailSettings.sendingTimePolicy",
    }
    assert errors["recipient.emailSettings.subject"] == ["The email subject cannot be empty."]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"idempotencyId": ""}, "idempotencyId", "IdempotencyId cannot be null or empty."),
        ({"recipient": None}, "recipient", "Recipient email object cannot be null."),
        (
            {"recipient": {"emailAddress": "a@example.no"}},
            "recipient.emailSettings",
            "Recipient email settings cannot be null.",
        ),
    ],
)
def test_missing_parts_are_named(
    composed_client: APIClient, change: dict[str, Any], field: str, message: str
) -> None:
    errors = _errors(post_future(composed_client, PATH, composed(**change)))

    assert errors[field] == [message]


@pytest.mark.parametrize("value", [42, ["a"], {"a": 1}, True])
def test_wrong_json_types_in_an_attachment_are_refused_not_coerced(
    composed_client: APIClient, value: Any
) -> None:
    errors = _errors(post_future(composed_client, PATH, composed(attachment(url=value, mimeType=value))))

    assert "recipient.emailSettings.attachments[0].url" in errors
    assert "recipient.emailSettings.attachments[0].mimeType" in errors


def test_attachments_must_be_a_list(composed_client: APIClient) -> None:
    body = composed()
    body["recipient"]["emailSettings"]["attachments"] = attachment()

    errors = _errors(post_future(composed_client, PATH, body))

    assert "recipient.emailSettings.attachments" in errors
