"""recipientExternalIdentity in POST /future/orders and its reminders: validation, registration, pipeline.

The pipeline runs against the local SMTP server and fake SMSC (the real protocols), as a worker would.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from dispatch.services.processing import order_process
from dispatch.services.sending import notifications_send
from fakes.smpp import SmppFake
from fakes.smtp import SmtpFake
from orders.models import EmailNotification, Order, OrderChain, SmsNotification
from orders.registry.models import SelfIdentifiedUser
from tests.dispatch.sending_support import use_smsc, use_smtp_server
from tests.orders.future.conftest import FUTURE, post_future

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("fresh_providers"),
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
]

EMAIL_SETTINGS = {"subject": "Ny melding", "body": "Du har en ny melding"}
SMS_SETTINGS = {"body": "Du har en ny melding", "sendingTimePolicy": "Anytime"}
SI = "urn:altinn:person:legacy-selfidentified:"
IDPORTEN = "urn:altinn:person:idporten-email:"
PATH = "recipient.recipientExternalIdentity"
PREFERRED = "EmailSettings/SmsSettings must be set when ChannelSchema is SmsPreferred or EmailPreferred"


def identity(urn: Any, channel: str = "Email", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"externalIdentity": urn, "channelSchema": channel}
    if channel != "Sms":
        body["emailSettings"] = EMAIL_SETTINGS
    if channel != "Email":
        body["smsSettings"] = SMS_SETTINGS
    return {"recipientExternalIdentity": {**body, **fields}}


def chain(recipient: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"idempotencyId": f"id-{uuid.uuid4()}", "recipient": recipient, **fields}


@pytest.fixture
def ola() -> SelfIdentifiedUser:
    return SelfIdentifiedUser.objects.create(
        username="ola.selvid", mobile_number="+4799999993", email_address="ola.si@example.no"
    )


@pytest.fixture
def smtp(settings: Any) -> Iterator[SmtpFake]:
    fake = SmtpFake().start()
    use_smtp_server(settings, fake.port)
    yield fake
    fake.stop()


@pytest.fixture
def smsc(settings: Any) -> Iterator[SmppFake]:
    fake = SmppFake(system_id="notify", password="secret").start()
    use_smsc(settings, fake.port)
    yield fake
    fake.stop()


# --- Validation (the reference's RecipientExternalIdentityValidator and its tests) -------------------


@pytest.mark.parametrize(
    "urn",
    [
        "invalid-urn-format",
        "urn:altinn:username:",
        "urn:altinn:party:username:",
        f"{IDPORTEN}",
        f"{IDPORTEN}user@",
        f"{SI}",
        f"{SI}   ",
        f"{IDPORTEN}not-an-email",
        f"{IDPORTEN}@example.com",
        f"{IDPORTEN}user@example",
        "urn:altinn:person:wrongprefix:user@example.com",
        f"{SI}ola%ff",  # percent-escapes that are not UTF-8
        "urn:altinn:person:identifier-no:01017012345",
    ],
)
def test_an_external_identity_that_is_not_an_accepted_urn_is_a_400_naming_the_field(
    api_client: APIClient, urn: str
) -> None:
    response = post_future(api_client, "/orders", chain(identity(urn)))

    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == {
        f"{PATH}.externalIdentity": ["Invalid external identity URN format."]
    }
    assert not OrderChain.objects.exists()


@pytest.mark.parametrize("urn", ["", None])
def test_an_empty_external_identity_is_a_400_with_the_reference_message(
    api_client: APIClient, urn: str | None
) -> None:
    response = post_future(api_client, "/orders", chain(identity(urn)))

    assert response.status_code == 400
    assert response.json()["errors"] == {
        f"{PATH}.externalIdentity": ["ExternalIdentity cannot be null or empty."]
    }


@pytest.mark.parametrize("value", [5, ["urn"], {"urn": 1}, True])
def test_an_external_identity_that_is_not_a_string_is_a_400_not_a_500(
    api_client: APIClient, value: Any
) -> None:
    response = post_future(api_client, "/orders", chain(identity(value)))

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [f"{PATH}.externalIdentity"]


@pytest.mark.parametrize(
    ("channel", "drop", "errors"),
    [
        (
            "Email",
            "emailSettings",
            {"emailSettings": ["EmailSettings must be set when ChannelSchema is Email"]},
        ),
        ("Sms", "smsSettings", {"smsSettings": ["SmsSettings must be set when ChannelSchema is Sms"]}),
        (
            "SmsPreferred",
            "smsSettings",
            {"smsSettings": [PREFERRED]},
        ),
        ("Bogus", None, {"channelSchema": ["Invalid channel scheme value."]}),
    ],
)
def test_channel_schema_and_its_settings_are_validated_as_for_persons(
    api_client: APIClient, channel: str, drop: str | None, errors: dict[str, list[str]]
) -> None:
    recipient = identity(f"{SI}ola.selvid", "EmailAndSms" if channel == "Bogus" else channel)
    body = recipient["recipientExternalIdentity"]
    if drop:
        del body[drop]
    if channel == "Bogus":
        body["channelSchema"] = "Bogus"

    response = post_future(api_client, "/orders", chain(recipient))

    assert response.status_code == 400
    assert response.json()["errors"] == {f"{PATH}.{key}": value for key, value in errors.items()}


def test_a_reminder_by_external_identity_is_validated_under_its_own_path(api_client: APIClient) -> None:
    body = chain(
        identity(f"{IDPORTEN}ola@example.no"),
        reminders=[{"delayDays": 1, "recipient": identity("urn:altinn:person:ola")}],
    )

    response = post_future(api_client, "/orders", body)

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "reminders[0].recipient.recipientExternalIdentity.externalIdentity": [
            "Invalid external identity URN format."
        ]
    }


def test_resource_id_rules_apply_to_external_identities(api_client: APIClient) -> None:
    response = post_future(
        api_client,
        "/orders",
        chain(identity(f"{IDPORTEN}ola@example.no", resourceId="burn:altinn:resource:x")),
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {f"{PATH}.resourceId": ["ResourceId must have a valid syntax."]}


# --- Registration ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "urn",
    [
        f"{IDPORTEN}ola@example.no",
        f"{IDPORTEN}ola%40example.no",  # percent-encoded, as the reference's URN parser decodes it
        f"{SI}ola.selvid",
        f"{SI}OLA.Selvid",  # usernames are compared without case
        "urn:altinn:username:ola.selvid",
        "urn:altinn:party:username:ola.selvid",
        "URN:ALTINN:PERSON:LEGACY-SELFIDENTIFIED:ola.selvid",
    ],
)
def test_an_external_identity_with_an_address_is_registered_as_given(
    api_client: APIClient, ola: SelfIdentifiedUser, urn: str
) -> None:
    response = post_future(api_client, "/orders", chain(identity(urn)))

    assert response.status_code == 201, response.content
    order = Order.objects.get(id=response.json()["notification"]["shipmentId"])
    recipient = order.recipients.get()
    assert (recipient.external_identity, recipient.national_identity_number, recipient.is_reserved) == (
        urn,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("urn", "channel"),
    [
        (f"{SI}nobody", "Email"),  # unknown user
        (f"{IDPORTEN}ola@example.no", "Sms"),  # an ID-porten email login has no mobile number
    ],
)
def test_an_external_identity_without_contact_for_the_channel_is_a_422_naming_it(
    api_client: APIClient, ola: SelfIdentifiedUser, urn: str, channel: str
) -> None:
    response = post_future(api_client, "/orders", chain(identity(urn, channel)))

    assert response.status_code == 422
    assert response.json()["errors"] == {
        f"{PATH}.externalIdentity": [
            "No contact information was found for this recipient for the chosen channel."
        ]
    }
    assert not Order.objects.exists()


def test_a_self_identified_user_without_a_mobile_number_is_missing_for_sms_but_not_for_email_preferred(
    api_client: APIClient,
) -> None:
    SelfIdentifiedUser.objects.create(username="kari", email_address="kari@example.no")

    assert post_future(api_client, "/orders", chain(identity(f"{SI}kari", "Sms"))).status_code == 422
    assert post_future(api_client, "/orders", chain(identity(f"{SI}kari", "SmsPreferred"))).status_code == 201


def test_reminders_by_external_identity_are_looked_up_and_registered(
    api_client: APIClient, ola: SelfIdentifiedUser
) -> None:
    body = chain(
        identity(f"{SI}ola.selvid", "Sms"),
        reminders=[
            {"delayDays": 1, "recipient": identity(f"{IDPORTEN}per@example.no")},
            {"delayDays": 2, "recipient": identity(f"{SI}nobody")},
        ],
    )

    response = post_future(api_client, "/orders", body)

    assert response.status_code == 422
    assert list(response.json()["errors"]) == [
        "reminders[1].recipient.recipientExternalIdentity.externalIdentity"
    ]

    del body["reminders"][1]
    response = post_future(api_client, "/orders", body)
    assert response.status_code == 201
    shipments = [response.json()["notification"]["shipmentId"]] + [
        r["shipmentId"] for r in response.json()["notification"]["reminders"]
    ]
    stored = [Order.objects.get(id=s).recipients.get().external_identity for s in shipments]
    assert stored == [f"{SI}ola.selvid", f"{IDPORTEN}per@example.no"]


# --- Pipeline, against the local SMTP server and SMSC ------------------------------------------------


def _shipment(api_client: APIClient, shipment_id: str) -> dict[str, Any]:
    response = api_client.get(f"{FUTURE}/shipment/{shipment_id}")
    assert response.status_code == 200
    return dict(response.json())


def test_a_self_identified_user_gets_email_and_sms_and_an_id_porten_login_email_at_its_address(
    api_client: APIClient, ola: SelfIdentifiedUser, smtp: SmtpFake, smsc: SmppFake
) -> None:
    main_id = post_future(api_client, "/orders", chain(identity(f"{SI}Ola.Selvid", "EmailAndSms"))).json()[
        "notification"
    ]["shipmentId"]
    other_id = post_future(api_client, "/orders", chain(identity(f"{IDPORTEN}per@example.no"))).json()[
        "notification"
    ]["shipmentId"]

    order_process(order_id=uuid.UUID(main_id))
    order_process(order_id=uuid.UUID(other_id))
    assert notifications_send().accepted == 3

    assert [r.rcpt_tos for r in smtp.received if "ola.si@example.no" in r.rcpt_tos] == [["ola.si@example.no"]]
    assert len(smtp.by_recipient("per@example.no")) == 1
    assert [s.destination_addr.lstrip("+") for s in smsc.submits] == ["4799999993"]
    assert [s.text for s in smsc.submits] == ["Du har en ny melding"]
    manifest = _shipment(api_client, main_id)
    assert sorted((r["type"], r["destination"]) for r in manifest["recipients"]) == [
        ("Email", "ola.si@example.no"),
        ("SMS", "+4799999993"),
    ]
    assert [r["destination"] for r in _shipment(api_client, other_id)["recipients"]] == ["per@example.no"]


def test_a_user_gone_from_the_registry_before_processing_ends_not_identified_and_nothing_is_sent(
    api_client: APIClient, ola: SelfIdentifiedUser, smtp: SmtpFake
) -> None:
    shipment_id = post_future(api_client, "/orders", chain(identity(f"{SI}ola.selvid"))).json()[
        "notification"
    ]["shipmentId"]
    ola.delete()

    order_process(order_id=uuid.UUID(shipment_id))
    notifications_send()

    assert smtp.received == []
    assert list(EmailNotification.objects.values_list("status", "to_address")) == [
        ("Failed_RecipientNotIdentified", "")
    ]
    assert not SmsNotification.objects.exists()
    manifest = _shipment(api_client, shipment_id)
    assert manifest["status"] == "Order_Completed"
    assert manifest["recipients"] == [
        {
            "type": "Email",
            "status": "Email_Failed_RecipientNotIdentified",
            "lastUpdate": manifest["recipients"][0]["lastUpdate"],
        }
    ]
