"""Orders that name a stored template (``templateId``) with ``personalisation`` instead of inline texts:
v1 SMS and email orders, ``POST /orders`` and the future API's chains and instant orders."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from orders.models import Order
from tests.orders.api.conftest import post_json
from tests.templates.test_api import created, email_template, errors_of, send, sms_template

pytestmark = pytest.mark.django_db

SMS_RECIPIENTS = [{"mobileNumber": "+4799999999"}]
EMAIL_RECIPIENTS = [{"emailAddress": "a@example.com"}]


def sms_from(template_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "templateId": template_id,
        "personalisation": {"amount": "NOK 100", "date": "1 March"},
        "recipients": SMS_RECIPIENTS,
        **fields,
    }


def test_an_sms_order_from_a_template_stores_the_filled_in_text_and_its_version(
    api_client: APIClient,
) -> None:
    template = created(api_client, sms_template(senderNumber="Etat"))

    response = post_json(api_client, "/orders/sms", sms_from(template["id"]))

    assert response.status_code == 202, response.content
    assert response.json()["smsPartCount"] == 1
    order = Order.objects.select_related("sms_template__stored_version").get(id=response.json()["orderId"])
    assert order.sms_template.body == "Hi $recipientName$, pay NOK 100 by 1 March."
    assert order.sms_template.sender_number == "Etat"
    assert order.sms_template.stored_version.template_id == uuid.UUID(template["id"])
    assert order.sms_template.stored_version.number == 1
    read = api_client.get(f"/notifications/api/v1/orders/{order.id}").json()
    assert read["smsTemplate"] == {
        "senderNumber": "Etat",
        "body": "Hi $recipientName$, pay NOK 100 by 1 March.",
    }


def test_an_order_uses_the_named_version_and_keeps_it_when_the_template_changes(
    api_client: APIClient,
) -> None:
    template = created(api_client, sms_template(body="One ((amount)) ((date))"))
    send(api_client, "put", f"/templates/{template['id']}", sms_template(body="Two ((amount)) ((date))"))

    old = post_json(api_client, "/orders/sms", sms_from(template["id"], templateVersion=1)).json()
    new = post_json(api_client, "/orders/sms", sms_from(template["id"])).json()
    send(api_client, "delete", f"/templates/{template['id']}")

    old_order = Order.objects.select_related("sms_template__stored_version").get(id=old["orderId"])
    new_order = Order.objects.select_related("sms_template__stored_version").get(id=new["orderId"])
    assert (old_order.sms_template.body, old_order.sms_template.stored_version.number) == (
        "One NOK 100 1 March",
        1,
    )
    assert (new_order.sms_template.body, new_order.sms_template.stored_version.number) == (
        "Two NOK 100 1 March",
        2,
    )
    # Archived: new orders cannot name it, the orders made from it are untouched.
    assert errors_of(post_json(api_client, "/orders/sms", sms_from(template["id"]))) == {
        "templateId": ["No template with this id was found."]
    }
    old_order.sms_template.refresh_from_db()
    assert old_order.sms_template.body == "One NOK 100 1 March"


def test_an_html_email_order_from_a_template_escapes_the_values(api_client: APIClient) -> None:
    template = created(api_client, email_template(fromAddress="noreply@etat.no"))

    response = post_json(
        api_client,
        "/orders/email",
        {
            "templateId": template["id"],
            "personalisation": {"name": '<script>"x"</script>', "date": "1\nMarch"},
            "recipients": EMAIL_RECIPIENTS,
        },
    )

    assert response.status_code == 202, response.content
    email = Order.objects.select_related("email_template").get(id=response.json()["orderId"]).email_template
    assert email.body == "<p>Dear &lt;script&gt;&quot;x&quot;&lt;/script&gt;, see you on 1\nMarch.</p>"
    assert email.subject == "Appointment on 1 March"  # line breaks in a subject become spaces
    assert (email.content_type, email.from_address) == ("Html", "noreply@etat.no")


def test_the_generic_order_takes_templates_for_both_channels(api_client: APIClient) -> None:
    sms = created(api_client, sms_template())
    email = created(api_client, email_template())

    response = post_json(
        api_client,
        "/orders",
        {
            "notificationChannel": "EmailAndSms",
            "recipients": [{"emailAddress": "a@example.com", "mobileNumber": "+4799999999"}],
            "emailTemplate": {
                "templateId": email["id"],
                "personalisation": {"name": "Kari", "date": "today"},
            },
            "smsTemplate": {"templateId": sms["id"], "personalisation": {"amount": "1", "date": "today"}},
        },
    )

    assert response.status_code == 202, response.content
    order = Order.objects.select_related("email_template", "sms_template").get(id=response.json()["orderId"])
    assert order.email_template.subject == "Appointment on today"
    assert order.sms_template.body == "Hi $recipientName$, pay 1 by today."


@pytest.mark.parametrize(
    ("path", "body", "errors"),
    [
        (
            "/orders/sms",
            {"body": "Inline", "personalisation": {}},
            {"personalisation": ["Only allowed together with templateId."]},
        ),
        (
            "/orders/sms",
            {"body": "Inline", "templateId": "TEMPLATE"},
            {"templateId": ["Give either templateId or the inline texts (body), not both."]},
        ),
        ("/orders/sms", {"personalisation": None}, {"body": ["The SMS template body must not be empty."]}),
        ("/orders/sms", {"templateId": "nope"}, {"templateId": ["Must be a valid UUID."]}),
        (
            "/orders/sms",
            {"templateId": str(uuid.uuid4())},
            {"templateId": ["No template with this id was found."]},
        ),
        (
            "/orders/sms",
            {"templateId": "TEMPLATE", "personalisation": {"amount": "1"}},
            {"personalisation.date": ["The template needs a value for this personalisation field."]},
        ),
        (
            "/orders/sms",
            {"templateId": "TEMPLATE", "templateVersion": 2, "personalisation": {"amount": "1", "date": "2"}},
            {"templateVersion": ["The template has no version 2."]},
        ),
        (
            "/orders/sms",
            {
                "templateId": "TEMPLATE",
                "templateVersion": "1",
                "personalisation": {"amount": "1", "date": "2"},
            },
            {"templateVersion": ["Must be a whole number of at least 1."]},
        ),
        (
            "/orders/email",
            {"templateId": "TEMPLATE", "personalisation": {"amount": "1", "date": "2"}},
            {"templateId": ["The template is an Sms template; this text needs an Email template."]},
        ),
        (
            "/orders",
            {"notificationChannel": "Sms", "smsTemplate": {"templateId": "TEMPLATE", "senderNumber": "Etat"}},
            {
                "smsTemplate.templateId": [
                    "Give either templateId or the inline texts (senderNumber), not both."
                ]
            },
        ),
        (
            "/orders",
            {"notificationChannel": "Sms", "smsTemplate": {"templateId": "TEMPLATE"}},
            {
                "smsTemplate.personalisation.amount": [
                    "The template needs a value for this personalisation field."
                ],
                "smsTemplate.personalisation.date": [
                    "The template needs a value for this personalisation field."
                ],
            },
        ),
    ],
)
def test_a_bad_template_reference_is_a_400_naming_the_field(
    api_client: APIClient, path: str, body: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    template = created(api_client, sms_template())
    recipients = [{"emailAddress": "a@example.com", "mobileNumber": "+4799999999"}]
    body = {key: template["id"] if value == "TEMPLATE" else value for key, value in body.items()}
    if "smsTemplate" in body:
        body["smsTemplate"] = {
            key: template["id"] if value == "TEMPLATE" else value
            for key, value in body["smsTemplate"].items()
        }

    assert errors_of(post_json(api_client, path, {"recipients": recipients, **body})) == errors
    assert not Order.objects.exists()


def test_another_creators_template_is_a_400_on_template_id(
    api_client: APIClient, other_client: APIClient
) -> None:
    template = created(api_client, sms_template())

    errors = errors_of(post_json(other_client, "/orders/sms", sms_from(template["id"])))

    assert errors == {"templateId": ["No template with this id was found."]}


def test_a_filled_in_text_over_the_length_limit_is_a_400(api_client: APIClient, settings: Any) -> None:
    settings.NOTIFICATIONS_MAX_SMS_BODY_CHARS = 50
    template = created(api_client, sms_template(body="((amount)) ((date))"))

    errors = errors_of(
        post_json(
            api_client,
            "/orders/sms",
            sms_from(template["id"], personalisation={"amount": "x" * 50, "date": ""}),
        )
    )

    assert errors == {
        "personalisation": ["The body filled in with the personalisation is longer than 50 characters."]
    }


# --- The future API --------------------------------------------------------------------------------


def test_an_order_chain_from_templates(api_client: APIClient, published: Any) -> None:
    sms = created(api_client, sms_template())
    email = created(api_client, email_template(contentType="Plain"))

    response = post_json(
        api_client,
        "/future/orders",
        {
            "idempotencyId": "template-chain",
            "recipient": {
                "recipientSms": {
                    "phoneNumber": "+4799999999",
                    "smsSettings": {
                        "templateId": sms["id"],
                        "personalisation": {"amount": "5", "date": "May"},
                    },
                }
            },
            "reminders": [
                {
                    "delayDays": 7,
                    "recipient": {
                        "recipientEmail": {
                            "emailAddress": "a@example.com",
                            "emailSettings": {
                                "templateId": email["id"],
                                "personalisation": {"name": "Ola", "date": "May"},
                            },
                        }
                    },
                }
            ],
        },
    )

    assert response.status_code == 201, response.content
    orders = Order.objects.select_related("sms_template", "email_template").order_by("requested_send_time")
    main, reminder = orders
    assert main.sms_template.body == "Hi $recipientName$, pay 5 by May."
    assert main.sms_template.stored_version_id is not None
    assert reminder.email_template.body == "<p>Dear Ola, see you on May.</p>"
    assert reminder.email_template.stored_version_id is not None


def test_a_chain_with_a_missing_personalisation_field_names_its_path(api_client: APIClient) -> None:
    sms = created(api_client, sms_template())

    response = post_json(
        api_client,
        "/future/orders",
        {
            "idempotencyId": "template-chain",
            "recipient": {
                "recipientSms": {
                    "phoneNumber": "+4799999999",
                    "smsSettings": {"templateId": sms["id"], "personalisation": {"amount": "5"}},
                }
            },
        },
    )

    assert errors_of(response) == {
        "recipient.recipientSms.smsSettings.personalisation.date": [
            "The template needs a value for this personalisation field."
        ]
    }
