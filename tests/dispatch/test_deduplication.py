"""One notification per address within an order and channel, however many recipients reach it.

Orders come in through the v1 API (many recipients an order), are processed as a worker would and sent
over the real protocols to the local SMTP server and fake SMSC. The notification lists (PostgreSQL path and
serializer path) and the shipment say which recipients each notification served.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from dispatch.services.processing import order_process
from dispatch.services.sending import notifications_send
from fakes.smpp import SmppFake
from fakes.smtp import SmtpFake
from orders.api.output import EmailNotificationSummarySerializer, SmsNotificationSummarySerializer
from orders.models import EmailNotification, Order, SmsNotification
from orders.registry.normalise import email_address_key, mobile_number_key
from orders.selectors import email_notification_list, sms_notification_list
from tests.dispatch.sending_support import fresh_providers, use_smsc, use_smtp_server
from tests.orders.api.conftest import API, post_json, registry_organization, registry_person

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("fresh_providers"),
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
]
__all__ = ["fresh_providers", "registry_organization", "registry_person"]

NIN, RESERVED, UNKNOWN = "01017012345", "03037012345", "05057012345"


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


def _register_and_process(client: APIClient, path: str, body: dict[str, Any]) -> str:
    response = post_json(client, path, body)
    assert response.status_code == 202, response.content
    order_id = str(response.json()["orderId"])
    order_process(order_id=uuid.UUID(order_id))
    return order_id


def _list(client: APIClient, order_id: str, channel: str) -> dict[str, Any]:
    response = client.get(f"{API}/orders/{order_id}/notifications/{channel}")
    assert response.status_code == 200
    body = dict(response.json())
    # The serializer path (documented in the OpenAPI document) answers exactly the same.
    select, serializer = (
        (email_notification_list, EmailNotificationSummarySerializer)
        if channel == "email"
        else (sms_notification_list, SmsNotificationSummarySerializer)
    )
    summary = select(order_id=uuid.UUID(order_id), creator=Order.objects.get(id=order_id).creator)
    assert body == json.loads(JSONRenderer().render(serializer(summary).data))
    return body


def _rows(body: dict[str, Any], key: str) -> list[tuple[Any, ...]]:
    return [
        (n["recipient"].get(key), n["sendStatus"]["status"], n.get("servedRecipients"))
        for n in body["notifications"]
    ]


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("ola@example.no", "OLA@Example.NO"),
        ("ola@example.no", " ola@example.no"),
        ("Ola@example.no", "ola@EXAMPLE.no"),
    ],
)
def test_email_addresses_are_the_same_whatever_their_case(one: str, other: str) -> None:
    assert email_address_key(one) == email_address_key(other)


def test_different_mailboxes_are_different_addresses() -> None:
    assert email_address_key("ola@example.no") != email_address_key("ola.n@example.no")
    assert email_address_key("ola@example.no") != email_address_key("ola@example.com")


@pytest.mark.parametrize("number", ["+4799999991", "004799999991", "+47 999 99 991", "99999991"])
def test_mobile_numbers_are_the_same_in_their_e164_form(number: str) -> None:
    assert mobile_number_key(number) == "+4799999991"


def test_email_a_person_the_same_address_given_directly_and_an_organization_sharing_it_get_one_email(
    api_client: APIClient, registry_person: Any, registry_organization: Any, smtp: SmtpFake
) -> None:
    registry_person(NIN, email="ola@example.no", name="Ola")
    registry_person(RESERVED, email="ola@example.no", reserved=True)
    registry_organization("987654321", emails=("Ola@Example.no", "post@demo.example.no"))
    order_id = _register_and_process(
        api_client,
        "/orders/email",
        {
            "subject": "Hei",
            "body": "Til $recipientName$",
            "recipients": [
                {"nationalIdentityNumber": NIN},
                {"emailAddress": "OLA@EXAMPLE.NO"},
                {"organizationNumber": "987654321"},
                {"nationalIdentityNumber": RESERVED},  # same address, but reserved: reported, not merged
                {"nationalIdentityNumber": UNKNOWN},  # not in the registry: reported
            ],
        },
    )

    body = _list(api_client, order_id, "email")

    served = [
        {"nationalIdentityNumber": NIN},
        {"emailAddress": "OLA@EXAMPLE.NO"},
        {"organizationNumber": "987654321"},
    ]
    assert body["generated"] == 4
    assert _rows(body, "emailAddress") == [
        ("ola@example.no", "New", served),
        ("post@demo.example.no", "New", None),
        (None, "Failed_RecipientReserved", None),
        (None, "Failed_RecipientNotIdentified", None),
    ]
    assert [n["recipient"].get("nationalIdentityNumber") for n in body["notifications"]] == [
        NIN,
        None,
        RESERVED,
        UNKNOWN,
    ]

    assert notifications_send().accepted == 2
    assert len(smtp.by_recipient("ola@example.no")) == 1
    # The first recipient owns the notification, with its texts (here: the person's name).
    assert smtp.by_recipient("ola@example.no")[0].message.get_content().strip() == "Til Ola"
    assert len(smtp.by_recipient("post@demo.example.no")) == 1


def test_sms_two_organizations_sharing_a_number_and_the_number_given_directly_get_one_sms(
    api_client: APIClient, registry_organization: Any, smsc: SmppFake
) -> None:
    registry_organization("987654321", mobiles=("+4799999991", "+4799999992"))
    registry_organization("912345678", mobiles=("+4799999991",))
    order_id = _register_and_process(
        api_client,
        "/orders/sms",
        {
            "body": "Hei",
            "recipients": [
                {"organizationNumber": "987654321"},
                {"organizationNumber": "912345678"},
                {"mobileNumber": "004799999991"},
                {"mobileNumber": "+4799999993"},
            ],
        },
    )

    body = _list(api_client, order_id, "sms")

    # Sorted: notifications of one recipient come in no particular order among themselves.
    assert sorted(_rows(body, "mobileNumber"), key=lambda row: row[0]) == [
        (
            "+4799999991",
            "New",
            [
                {"organizationNumber": "987654321"},
                {"organizationNumber": "912345678"},
                {"mobileNumber": "004799999991"},
            ],
        ),
        ("+4799999992", "New", None),
        ("+4799999993", "New", None),
    ]
    assert notifications_send().accepted == 3
    assert sorted(s.destination_addr.lstrip("+") for s in smsc.submits) == [
        "4799999991",
        "4799999992",
        "4799999993",
    ]


def test_email_and_sms_deduplicates_each_channel_on_its_own_and_the_shipment_names_the_recipients(
    api_client: APIClient, registry_person: Any, smtp: SmtpFake, smsc: SmppFake
) -> None:
    registry_person(NIN, email="ola@example.no", mobile="+4799999991")
    order_id = _register_and_process(
        api_client,
        "/orders",
        {
            "notificationChannel": "EmailAndSms",
            "emailTemplate": {"subject": "Hei", "body": "Hei"},
            "smsTemplate": {"body": "Hei"},
            "recipients": [
                {"nationalIdentityNumber": NIN},
                {"emailAddress": "ola@example.no", "mobileNumber": "+4799999992"},  # the same email only
            ],
        },
    )

    emails, sms = _list(api_client, order_id, "email"), _list(api_client, order_id, "sms")

    both = [
        {"nationalIdentityNumber": NIN},
        {"emailAddress": "ola@example.no", "mobileNumber": "+4799999992"},
    ]
    assert _rows(emails, "emailAddress") == [("ola@example.no", "New", both)]
    assert _rows(sms, "mobileNumber") == [("+4799999991", "New", None), ("+4799999992", "New", None)]
    assert notifications_send().accepted == 3
    assert len(smtp.received) == 1

    manifest = api_client.get(f"{API}/future/shipment/{order_id}").json()
    assert [(r["type"], r["destination"], r.get("servedRecipients")) for r in manifest["recipients"]] == [
        ("Email", "ola@example.no", both),
        ("SMS", "+4799999991", None),
        ("SMS", "+4799999992", None),
    ]
    assert EmailNotification.objects.get().served_positions == [0, 1]
    assert SmsNotification.objects.filter(served_positions__isnull=False).count() == 0


def test_another_creator_cannot_read_the_served_recipients(
    api_client: APIClient, registry_person: Any, other_client: APIClient
) -> None:
    registry_person(NIN, email="ola@example.no")
    order_id = _register_and_process(
        api_client,
        "/orders/email",
        {
            "subject": "Hei",
            "body": "Hei",
            "recipients": [{"nationalIdentityNumber": NIN}, {"emailAddress": "ola@example.no"}],
        },
    )

    assert other_client.get(f"{API}/orders/{order_id}/notifications/email").status_code == 404
    assert other_client.get(f"{API}/future/shipment/{order_id}").status_code == 404


def _stored(model: type[EmailNotification] | type[SmsNotification], order_id: str) -> list[tuple[Any, ...]]:
    """(position, address, status, served positions) of every notification of the order, by position."""
    column = "to_address" if model is EmailNotification else "mobile_number"
    return sorted(
        model.objects.filter(order_id=order_id).values_list(
            "recipient_position", column, "status", "served_positions"
        ),
        key=lambda row: (row[0], row[1]),
    )


def test_sms_duplicates_across_chunks_keep_the_first_recipient_and_every_later_one_in_order(
    api_client: APIClient, registry_person: Any, registry_organization: Any, settings: Any
) -> None:
    # Two recipients a chunk: every repeated number below is reached again in a later chunk.
    settings.NOTIFICATIONS_PROCESSING_CHUNK_SIZE = 2
    registry_person("01017000001", mobile="+4799999991", name="Kari")
    registry_organization("987654321", mobiles=("+4799999992", "+4799999991"))
    order_id = _register_and_process(
        api_client,
        "/orders/sms",
        {
            "body": "Hei $recipientName$",
            "recipients": [
                {"mobileNumber": "+4799999993"},  # 0
                {"nationalIdentityNumber": "01017000001"},  # 1: ...991, named
                {"mobileNumber": "004799999991"},  # 2: ...991 again (chunk 2)
                {"mobileNumber": "+4799999993"},  # 3: ...993 again
                {"organizationNumber": "987654321"},  # 4: ...992 new, ...991 again (chunk 3)
                {"mobileNumber": "+47 999 99 992"},  # 5: ...992 again
                {"mobileNumber": "+4799999994"},  # 6
                {"mobileNumber": "+47 99 99 99 91"},  # 7: ...991 again (chunk 4)
            ],
        },
    )

    assert _stored(SmsNotification, order_id) == [
        (0, "+4799999993", "New", [0, 3]),
        (1, "+4799999991", "New", [1, 2, 4, 7]),
        (4, "+4799999992", "New", [4, 5]),
        (6, "+4799999994", "New", None),
    ]
    # The owner's texts: the first recipient's name.
    assert SmsNotification.objects.get(order_id=order_id, recipient_position=1).body == "Hei Kari"
    assert Order.objects.get(id=order_id).status == "Processed"
    body = _list(api_client, order_id, "sms")
    assert body["generated"] == 4


def test_email_failures_are_never_merged_among_duplicates_across_chunks(
    api_client: APIClient, registry_person: Any, registry_organization: Any, settings: Any
) -> None:
    settings.NOTIFICATIONS_PROCESSING_CHUNK_SIZE = 3
    registry_person("01017000001", email="Ola@Example.no")
    registry_person("01017000002", email="ola@example.no", reserved=True)
    registry_person("01017000003", email="kari@example.no", reserved=True)
    registry_organization("987654321", emails=("post@example.no", "OLA@example.no"))
    order_id = _register_and_process(
        api_client,
        "/orders/email",
        {
            "subject": "Hei",
            "body": "Hei",
            "recipients": [
                {"nationalIdentityNumber": "01017000002"},  # 0 reserved: its own failure
                {"nationalIdentityNumber": "05057000009"},  # 1 unknown: its own failure
                {"emailAddress": "kari@example.no"},  # 2 owns kari@
                {"nationalIdentityNumber": "01017000003"},  # 3 reserved, kari@: its own failure
                {"nationalIdentityNumber": "01017000001"},  # 4 owns ola@ (first to reach it)
                {"nationalIdentityNumber": "05057000009"},  # 5 unknown again: its own failure
                {"organizationNumber": "987654321"},  # 6 owns post@, reaches ola@ again
                {"emailAddress": "KARI@Example.NO"},  # 7 kari@ again
                {"nationalIdentityNumber": "01017000002"},  # 8 reserved again: its own failure
            ],
        },
    )

    assert _stored(EmailNotification, order_id) == [
        (0, "", "Failed_RecipientReserved", None),
        (1, "", "Failed_RecipientNotIdentified", None),
        (2, "kari@example.no", "New", [2, 7]),
        (3, "", "Failed_RecipientReserved", None),
        (4, "Ola@Example.no", "New", [4, 6]),
        (5, "", "Failed_RecipientNotIdentified", None),
        (6, "post@example.no", "New", None),
        (8, "", "Failed_RecipientReserved", None),
    ]


def test_an_order_of_failures_and_repeats_only_completes_with_every_failure(
    api_client: APIClient, registry_person: Any
) -> None:
    registry_person("01017000002", mobile="+4799999991", reserved=True)
    order_id = _register_and_process(
        api_client,
        "/orders/sms",
        {
            "body": "Hei",
            "recipients": [{"nationalIdentityNumber": "01017000002"}] * 3
            + [{"nationalIdentityNumber": "05057000009"}],
        },
    )

    assert _stored(SmsNotification, order_id) == [
        (0, "", "Failed_RecipientReserved", None),
        (1, "", "Failed_RecipientReserved", None),
        (2, "", "Failed_RecipientReserved", None),
        (3, "", "Failed_RecipientNotIdentified", None),
    ]
    assert Order.objects.get(id=order_id).status == "Completed"


def _oracle(recipients: list[str]) -> list[tuple[Any, ...]]:
    """What the in-memory deduplication used to store for recipients given by mobile number: the first
    position owns each number (in its own spelling); the positions reaching it are listed in order when
    more than one did."""
    owners: dict[str, tuple[int, str]] = {}
    served: dict[str, list[int]] = {}
    for position, number in enumerate(recipients):
        key = mobile_number_key(number)
        if key in owners:
            served.setdefault(key, [owners[key][0]]).append(position)
        else:
            owners[key] = (position, number)
    return sorted((p, a, "New", served.get(key)) for key, (p, a) in owners.items())


def test_many_repeats_in_many_spellings_store_what_in_memory_deduplication_stored(
    api_client: APIClient, settings: Any, monkeypatch: Any
) -> None:
    from dispatch.services import bulk

    # Small spools and copy blocks: rows spill to files and lines are cut at block ends.
    monkeypatch.setattr(bulk, "SPOOL_MEMORY_BYTES", 2048)
    monkeypatch.setattr(bulk, "COPY_BLOCK_BYTES", 777)
    settings.NOTIFICATIONS_PROCESSING_CHUNK_SIZE = 37
    spellings = ("+4799{:06d}", "004799{:06d}", "+47 99{:06d}")
    recipients = [spellings[(n * 7) % 3].format((n * 7919) % 53) for n in range(400)]
    orders = [
        _register_and_process(
            api_client, "/orders/sms", {"body": "Hei", "recipients": [{"mobileNumber": m} for m in chunk]}
        )
        for chunk in (recipients, recipients[::-1])  # two orders in one transaction: temporary tables go
    ]

    assert _stored(SmsNotification, orders[0]) == _oracle(recipients)
    assert _stored(SmsNotification, orders[1]) == _oracle(recipients[::-1])
