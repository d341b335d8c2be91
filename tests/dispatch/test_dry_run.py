"""Dry runs (``/dry-run/...``): validated as the real endpoints, resolved and rendered by the pipeline's
rules, answered as JSON, with nothing stored, enqueued or sent, and no idempotency key used up."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from dispatch.models import DeliveryAttempt
from dispatch.providers import reset_providers
from fakes.smpp import SmppFake
from fakes.smtp import SmtpFake
from orders.idempotency import IDEMPOTENCY_HEADER
from orders.models import EmailNotification, Order, OrderChain, Recipient, SmsNotification
from templates.models import EmailTemplate, SmsTemplate
from tests.dispatch.sending_support import use_smsc, use_smtp_server
from tests.orders.api.conftest import API, post_json, published, registry_organization, registry_person

__all__ = ["published", "registry_organization", "registry_person"]
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
]

OSLO = ZoneInfo("Europe/Oslo")
NEXT_YEAR = timezone.now().year + 1
MODELS = (
    Order,
    Recipient,
    OrderChain,
    SmsTemplate,
    EmailTemplate,
    SmsNotification,
    EmailNotification,
    DeliveryAttempt,
)


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


@pytest.fixture
def nothing_stored(published: list[Any]) -> Iterator[None]:
    """Asserts after the test that no row was written and no task was published."""
    before = row_counts()
    yield
    assert row_counts() == before
    assert published == []


@pytest.fixture
def smsc(settings: Any) -> Iterator[SmppFake]:
    fake = SmppFake(system_id="notify", password="secret").start()
    use_smsc(settings, fake.port)
    reset_providers()
    yield fake
    reset_providers()
    fake.stop()


@pytest.fixture
def smtp(settings: Any) -> Iterator[SmtpFake]:
    fake = SmtpFake().start()
    use_smtp_server(settings, fake.port)
    reset_providers()
    yield fake
    reset_providers()
    fake.stop()


def dry(client: APIClient, path: str, body: Any, **headers: str) -> Any:
    return client.post(
        f"{API}/dry-run{path}", data=json.dumps(body), content_type="application/json", headers=headers
    )


# --- v1 orders -----------------------------------------------------------------------------------------


@pytest.mark.usefixtures("nothing_stored")
def test_a_dry_run_resolves_renders_and_stores_nothing(
    api_client: APIClient, registry_person: Any, registry_organization: Any
) -> None:
    registry_person("01025161013", mobile="+4798888888", email="ola@example.no", name="Ola Nordmann")
    registry_person("11876995923", mobile="+4797777777", reserved=True, name="Kari")
    registry_organization("311000179", emails=("post@example.no",))
    order = {
        "notificationChannel": "SmsPreferred",
        "recipients": [
            {"nationalIdentityNumber": "01025161013"},
            {"nationalIdentityNumber": "11876995923"},
            {"organizationNumber": "311000179"},
            {"mobileNumber": "+4799999999"},
        ],
        "smsTemplate": {"body": "Hei $recipientName$"},
        "emailTemplate": {"subject": "Til $recipientName$", "body": "Hei"},
    }

    response = dry(api_client, "/orders", order)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["dryRun"] is True
    assert body["recipientLookup"] == {
        "status": "PartialSuccess",
        "isReserved": ["11876995923"],
        "missingContact": [],
    }
    [result] = body["orders"]
    assert result["summary"] == {
        "recipients": 4,
        "notifications": 4,
        "email": {"new": 1, "failed": {}},
        "sms": {"new": 2, "failed": {"Failed_RecipientReserved": 1}},
        "smsParts": 2,
        "servedByEarlierNotifications": 0,
    }
    person, reserved, organization, number = result["notifications"]
    assert (person["channel"], person["mobileNumber"], person["body"]) == (
        "Sms",
        "+4798888888",
        "Hei Ola Nordmann",
    )
    assert reserved == {"channel": "Sms", "recipientIndex": 1, "status": "Failed_RecipientReserved"}
    # No mobile number for the organization: the preferred channel falls back to email.
    assert (organization["channel"], organization["subject"]) == ("Email", "Til Org 311000179")
    assert number["body"] == "Hei $recipientName$"
    assert result["truncated"] is False
    assert [w["field"] for w in body["warnings"]] == ["smsTemplate.body", "emailTemplate.subject"]


@pytest.mark.usefixtures("nothing_stored")
def test_a_daytime_sms_on_17_may_gets_the_next_working_windows_send_time(
    api_client: APIClient, settings: Any
) -> None:
    settings.NOTIFICATIONS_SMS_HOLIDAYS_COUNTRY = "NO"  # the test settings have no holiday calendar
    send_time = datetime(NEXT_YEAR, 5, 17, 10, 0, tzinfo=OSLO)
    order = {
        "body": "Hei",
        "recipients": [{"mobileNumber": "+4799999999"}],
        "requestedSendTime": send_time.isoformat(),
    }

    [result] = dry(api_client, "/orders/sms", order).json()["orders"]

    assert result["sendingTimePolicy"] == "Daytime"
    [sms] = result["notifications"]
    opens = datetime(NEXT_YEAR, 5, 18, 9, 0, tzinfo=OSLO)
    assert datetime.fromisoformat(sms["sendTime"]) == opens
    assert datetime.fromisoformat(sms["expires"]) == datetime(NEXT_YEAR, 5, 20, 9, 0, tzinfo=OSLO)
    # (In 2027 Whit Monday falls on 17 May too: the holiday's name then lists both.)
    assert sms["sendTimeReason"].startswith("The send window is shut on 17 May: Constitution Day")


def test_the_same_idempotency_key_registers_for_real_after_a_dry_run(
    api_client: APIClient, published: Any
) -> None:
    order = {"body": "Hei", "recipients": [{"mobileNumber": "+4799999999"}]}
    key = f"key-{uuid.uuid4()}"

    assert dry(api_client, "/orders/sms", order, **{IDEMPOTENCY_HEADER: key}).status_code == 200
    assert Order.objects.count() == 0

    real = api_client.post(
        f"{API}/orders/sms",
        data=json.dumps(order),
        content_type="application/json",
        headers={IDEMPOTENCY_HEADER: key},
    )
    assert real.status_code == 202
    assert "Idempotent-Replayed" not in real
    assert Order.objects.count() == 1


@pytest.mark.usefixtures("nothing_stored")
def test_a_dry_run_of_100000_recipients_answers_a_summary_and_the_first_100(api_client: APIClient) -> None:
    recipients = [{"mobileNumber": f"+47{40000000 + n}"} for n in range(100_000)]

    response = dry(api_client, "/orders/sms", {"body": "Hei – kort melding", "recipients": recipients})

    assert response.status_code == 200
    [result] = response.json()["orders"]
    assert result["summary"]["notifications"] == 100_000
    assert result["summary"]["sms"] == {"new": 100_000, "failed": {}}
    assert result["summary"]["smsParts"] == 100_000
    assert len(result["notifications"]) == 100
    assert result["notifications"][99]["recipientIndex"] == 99
    assert result["truncated"] is True


@pytest.mark.usefixtures("nothing_stored")
def test_an_invalid_request_is_the_real_endpoints_400_naming_the_field(api_client: APIClient) -> None:
    response = dry(api_client, "/orders/sms", {"body": "", "recipients": [{"mobileNumber": "12"}]})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert set(response.json()["errors"]) == {"body", "recipients[0].mobileNumber"}


@pytest.mark.usefixtures("nothing_stored")
def test_a_dry_run_needs_the_same_token_as_registration(make_token: Any) -> None:
    order = {"body": "Hei", "recipients": [{"mobileNumber": "+4799999999"}]}
    anonymous = APIClient()
    assert dry(anonymous, "/orders/sms", order).status_code == 401

    platform_as_bearer = APIClient()
    platform_as_bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(platform=True)}")
    assert dry(platform_as_bearer, "/orders/sms", order).status_code == 401

    no_scope = APIClient()
    no_scope.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(scopes=['altinn:other'])}")
    assert dry(no_scope, "/orders/sms", order).status_code == 403


def test_a_registry_outage_is_a_503(api_client: APIClient, settings: Any, published: Any) -> None:
    settings.NOTIFICATIONS_REGISTRY_BACKEND = "http"
    settings.NOTIFICATIONS_REGISTRY_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    order = {"body": "Hei", "recipients": [{"nationalIdentityNumber": "01025161013"}]}

    response = dry(api_client, "/orders/sms", order)

    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"


# --- order chains and instant orders -------------------------------------------------------------------


def chain(idempotency_id: str, **recipient: Any) -> dict[str, Any]:
    return {
        "idempotencyId": idempotency_id,
        "recipient": recipient
        or {"recipientSms": {"phoneNumber": "+4799999999", "smsSettings": {"body": "Frist i dag"}}},
        "reminders": [
            {
                "delayDays": 2,
                "recipient": {
                    "recipientEmail": {
                        "emailAddress": "a@example.no",
                        "emailSettings": {"subject": "Husk", "body": "Fristen er i dag"},
                    }
                },
            }
        ],
    }


def test_a_chain_dry_run_shows_every_shipment_and_leaves_its_idempotency_id_free(
    api_client: APIClient, published: Any
) -> None:
    request = chain(f"chain-{uuid.uuid4()}")
    before = row_counts()

    response = dry(api_client, "/future/orders", request)

    assert response.status_code == 200, response.content
    assert row_counts() == before
    main, reminder = response.json()["orders"]
    assert (main["shipment"], main["summary"]["sms"]["new"]) == ("notification", 1)
    assert (reminder["shipment"], reminder["summary"]["email"]["new"]) == ("reminders[0]", 1)
    gap = datetime.fromisoformat(reminder["requestedSendTime"]) - datetime.fromisoformat(
        main["requestedSendTime"]
    )
    assert gap.days == 2
    assert published == []

    real = post_json(api_client, "/future/orders", request)
    assert real.status_code == 201  # not a replay: the dry run kept nothing


@pytest.mark.usefixtures("nothing_stored")
def test_a_chain_dry_run_answers_422_for_a_recipient_without_contact(api_client: APIClient) -> None:
    request = chain(
        f"chain-{uuid.uuid4()}",
        recipientPerson={
            "nationalIdentityNumber": "01025161013",
            "channelSchema": "Sms",
            "smsSettings": {"body": "Hei"},
        },
    )

    response = dry(api_client, "/future/orders", request)

    assert response.status_code == 422
    assert response.json()["code"] == "NOT-00001"


def test_an_instant_sms_dry_run_reaches_no_smsc(api_client: APIClient, smsc: SmppFake) -> None:
    request = {
        "idempotencyId": f"instant-{uuid.uuid4()}",
        "recipientSms": {
            "phoneNumber": "+4799999999",
            "timeToLiveInSeconds": 300,
            "smsSettings": {"body": "Kode 4829"},
        },
    }
    before = row_counts()

    response = dry(api_client, "/future/orders/instant/sms", request)

    assert response.status_code == 200
    [sms] = response.json()["orders"][0]["notifications"]
    assert (sms["body"], sms["smsPartCount"]) == ("Kode 4829", 1)
    sent_at = datetime.fromisoformat(sms["sendTime"])
    assert (datetime.fromisoformat(sms["expires"]) - sent_at).total_seconds() == 300
    assert smsc.submits == []
    assert row_counts() == before

    # The idempotencyId is still free: the real request sends.
    assert post_json(api_client, "/future/orders/instant/sms", request).status_code == 201
    assert len(smsc.submits) == 1


def test_an_instant_email_dry_run_reaches_no_smtp_server(api_client: APIClient, smtp: SmtpFake) -> None:
    request = {
        "idempotencyId": f"instant-{uuid.uuid4()}",
        "recipientEmail": {
            "emailAddress": "ola@example.no",
            "emailSettings": {"subject": "Kode", "body": "<p>4829</p>", "contentType": "Html"},
        },
    }
    before = row_counts()

    response = dry(api_client, "/future/orders/instant/email", request)

    assert response.status_code == 200
    [email] = response.json()["orders"][0]["notifications"]
    assert (email["emailAddress"], email["subject"]) == ("ola@example.no", "Kode")
    assert smtp.received == []
    assert row_counts() == before


@pytest.mark.usefixtures("nothing_stored")
def test_an_address_reached_twice_gets_one_notification_as_in_generation(api_client: APIClient) -> None:
    recipients = [
        {"mobileNumber": "+4799999999"},
        {"mobileNumber": "+47 999 99 999"},
        {"mobileNumber": "+4798888888"},
    ]

    [result] = dry(api_client, "/orders/sms", {"body": "Hei", "recipients": recipients}).json()["orders"]

    assert result["summary"]["sms"]["new"] == 2
    assert result["summary"]["servedByEarlierNotifications"] == 1
    assert [n["recipientIndex"] for n in result["notifications"]] == [0, 2]


def test_a_dry_run_of_an_order_from_a_stored_template_renders_the_callers_template(
    api_client: APIClient, published: list[Any]
) -> None:
    """The dry run reads stored templates as the caller's, as registration does: filled in, not found."""
    from tests.templates.test_api import created, sms_template

    template = created(api_client, sms_template(senderNumber="Etat"))
    order = {
        "templateId": template["id"],
        "personalisation": {"amount": "NOK 100", "date": "1 March"},
        "recipients": [{"mobileNumber": "+4799999999"}],
    }
    before = row_counts()

    response = dry(api_client, "/orders/sms", order)
    missing = dry(api_client, "/orders/sms", {**order, "personalisation": {"amount": "NOK 100"}})

    assert response.status_code == 200, response.content
    [notification] = response.json()["orders"][0]["notifications"]
    assert notification["body"] == "Hi $recipientName$, pay NOK 100 by 1 March."
    assert missing.status_code == 400
    assert "personalisation.date" in missing.json()["errors"]
    assert row_counts() == before
    assert published == []
