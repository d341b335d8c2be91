"""End to end: orders from stored templates, through the pipeline, to the local SMTP server and SMSC."""

from __future__ import annotations

from typing import Any

import pytest

import dispatch.tasks  # noqa: F401 - registers the tasks that are enqueued by name
from fakes.smpp import SmppFake
from fakes.smtp import SmtpFake
from notifications_project.celery import app as celery_app
from orders.registry.models import Organization, OrganizationContact
from tests.dispatch.sending_support import fresh_providers, use_smsc, use_smtp_server
from tests.templates.test_api import created, email_template, send, sms_template

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("fresh_providers"),
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
]
__all__ = ["fresh_providers"]


@pytest.fixture
def tasks_run_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tasks enqueued by name run at once in this process, as a worker would run them."""

    def send_task(
        name: str, args: list[Any] | None = None, kwargs: dict[str, Any] | None = None, **_: Any
    ) -> Any:
        return celery_app.tasks[name].apply(args=args or [], kwargs=kwargs or {})

    monkeypatch.setattr(celery_app, "send_task", send_task)


@pytest.fixture
def smtp(settings: Any) -> Any:
    fake = SmtpFake().start()
    use_smtp_server(settings, fake.port)
    yield fake
    fake.stop()


@pytest.fixture
def smsc(settings: Any) -> Any:
    fake = SmppFake(system_id="notify", password="secret").start()
    use_smsc(settings, fake.port)
    settings.NOTIFICATIONS_SMPP_ENQUIRE_LINK_SECONDS = 30
    yield fake
    fake.stop()


@pytest.fixture
def organization() -> Organization:
    organization = Organization.objects.create(organization_number="311000179", name="Testbedrift AS")
    OrganizationContact.objects.create(organization=organization, kind="sms", address="+4799999991")
    OrganizationContact.objects.create(organization=organization, kind="email", address="post@testbedrift.no")
    return organization


def test_an_sms_order_from_a_template_reaches_the_smsc_with_personalisation_and_keywords(
    api_client: Any,
    tasks_run_inline: None,
    smsc: SmppFake,
    organization: Organization,
    django_capture_on_commit_callbacks: Any,
) -> None:
    template = created(api_client, sms_template(senderNumber="Etat"))
    with django_capture_on_commit_callbacks(execute=True):
        response = send(
            api_client,
            "post",
            "/orders/sms",
            {
                "templateId": template["id"],
                "personalisation": {"amount": "NOK 250", "date": "1 March"},
                "recipients": [{"organizationNumber": "311000179"}],
            },
        )
    assert response.status_code == 202, response.content

    [submit] = smsc.submits
    assert submit.destination_addr == "4799999991"
    assert submit.source_addr == "Etat"
    assert submit.text == "Hi Testbedrift AS, pay NOK 250 by 1 March."


def test_an_html_email_order_from_a_template_reaches_the_smtp_server_escaped(
    api_client: Any,
    tasks_run_inline: None,
    smtp: SmtpFake,
    organization: Organization,
    django_capture_on_commit_callbacks: Any,
) -> None:
    template = created(
        api_client,
        email_template(
            fromAddress="noreply@etat.no", body="<p>Dear $recipientName$: ((name)) on ((date))</p>"
        ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = send(
            api_client,
            "post",
            "/orders/email",
            {
                "templateId": template["id"],
                "personalisation": {"name": "<b>Kari & Ola</b>", "date": "1 March"},
                "recipients": [{"organizationNumber": "311000179"}],
            },
        )
    assert response.status_code == 202, response.content

    [received] = smtp.received
    assert received.rcpt_tos == ["post@testbedrift.no"]
    assert received.mail_from == "noreply@etat.no"
    message = received.message
    assert message["Subject"] == "Appointment on 1 March"
    assert message.get_content_type() == "text/html"
    assert message.get_content().strip() == (
        "<p>Dear Testbedrift AS: &lt;b&gt;Kari &amp; Ola&lt;/b&gt; on 1 March</p>"
    )
