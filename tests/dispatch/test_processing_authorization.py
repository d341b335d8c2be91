"""Orders with a resourceId, end to end: API → processing with the authorization filter → SMTP / SMSC.

The organization has addresses of its own and three contact persons: Ida (by NIN, permitted to read the
resource), Tor (by NIN, not permitted) and Kari (by user id, permitted, with only a mobile number). The
database backend decides from ResourceRight rows; the HTTP backend asks a local decision point.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

import dispatch.tasks  # noqa: F401 - registers the tasks that are enqueued by name
from dispatch.services.processing import order_process
from fakes.pdp import PdpFake
from fakes.smpp import SmppFake
from fakes.smtp import SmtpFake
from notifications_project.celery import app as celery_app
from orders.authorization.models import ResourceRight
from orders.models import EmailNotification, Order, OrderStatus, SmsNotification
from orders.registry.models import Organization, OrganizationContact
from tests.dispatch.sending_support import fresh_providers, use_smsc, use_smtp_server

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("fresh_providers"),
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
]
__all__ = ["fresh_providers"]

API = "/notifications/api/v1"
ORGNO = "311000179"
RESOURCE = "urn:altinn:resource:example-service"
OWN_EMAIL, OWN_MOBILE = "post@org.example.no", "+4791234567"
IDA = ("05057012345", "ida@org.example.no", "+4791234568")
TOR = ("06067012345", "tor@org.example.no", "+4791234569")
KARI_USER, KARI_MOBILE = 20003, "+4791234570"


@pytest.fixture
def tasks_run_inline(monkeypatch):
    """Tasks enqueued by name run at once in this process, as a worker would run them."""

    def send_task(name: str, args: list[Any] | None = None, kwargs: dict[str, Any] | None = None, **_: Any):
        return celery_app.tasks[name].apply(args=args or [], kwargs=kwargs or {})

    monkeypatch.setattr(celery_app, "send_task", send_task)


@pytest.fixture
def smtp(settings) -> Iterator[SmtpFake]:
    fake = SmtpFake().start()
    use_smtp_server(settings, fake.port)
    yield fake
    fake.stop()


@pytest.fixture
def smsc(settings) -> Iterator[SmppFake]:
    fake = SmppFake(system_id="notify", password="secret").start()
    use_smsc(settings, fake.port)
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def registry() -> None:
    organization = Organization.objects.create(organization_number=ORGNO, name="Eksempelbedrift AS")
    contacts = [
        ("email", OWN_EMAIL, None, None),
        ("sms", OWN_MOBILE, None, None),
        ("email", IDA[1], IDA[0], None),
        ("sms", IDA[2], IDA[0], None),
        ("email", TOR[1], TOR[0], None),
        ("sms", TOR[2], TOR[0], None),
        ("sms", KARI_MOBILE, None, KARI_USER),
    ]
    for kind, address, nin, user_id in contacts:
        OrganizationContact.objects.create(
            organization=organization,
            kind=kind,
            address=address,
            national_identity_number=nin,
            user_id=user_id,
        )
    ResourceRight.objects.create(
        organization_number=ORGNO, national_identity_number=IDA[0], resource_id=RESOURCE
    )
    ResourceRight.objects.create(organization_number=ORGNO, user_id=KARI_USER, resource_id=RESOURCE)


def post(client, path: str, body: dict[str, Any], capture) -> str:
    with capture(execute=True):
        response = client.post(f"{API}{path}", body, format="json")
    assert response.status_code == 202, response.content
    return str(response.json()["orderId"])


def email_order(**fields: Any) -> dict[str, Any]:
    return {"subject": "Ny melding", "body": "Hei", "recipients": [{"organizationNumber": ORGNO}], **fields}


def sms_order(**fields: Any) -> dict[str, Any]:
    return {"body": "Hei", "recipients": [{"organizationNumber": ORGNO}], **fields}


def emailed(smtp: SmtpFake) -> set[str]:
    return {address for item in smtp.received for address in item.rcpt_tos}


def texted(smsc: SmppFake) -> set[str]:
    return {"+" + submit.destination_addr.lstrip("+") for submit in smsc.submits}


def test_an_email_order_for_a_resource_reaches_the_organization_and_its_permitted_persons_only(
    api_client, tasks_run_inline, django_capture_on_commit_callbacks, smtp
) -> None:
    order_id = post(
        api_client, "/orders/email", email_order(resourceId=RESOURCE), django_capture_on_commit_callbacks
    )

    assert emailed(smtp) == {OWN_EMAIL, IDA[1]}  # not Tor (no right); Kari has no email address
    assert Order.objects.get(id=order_id).status in (OrderStatus.PROCESSED, OrderStatus.COMPLETED)
    listing = api_client.get(f"{API}/orders/{order_id}/notifications/email").json()
    assert listing["generated"] == 2


def test_an_sms_order_for_a_resource_reaches_permitted_persons_by_nin_and_by_user_id(
    api_client, tasks_run_inline, django_capture_on_commit_callbacks, smsc
) -> None:
    post(api_client, "/orders/sms", sms_order(resourceId=RESOURCE), django_capture_on_commit_callbacks)

    assert texted(smsc) == {OWN_MOBILE, IDA[2], KARI_MOBILE}


def test_without_a_resource_only_the_organizations_own_addresses_are_used(
    api_client, tasks_run_inline, django_capture_on_commit_callbacks, smtp
) -> None:
    post(api_client, "/orders/email", email_order(), django_capture_on_commit_callbacks)

    assert emailed(smtp) == {OWN_EMAIL}


def test_an_action_nobody_holds_leaves_only_the_organizations_own_addresses(
    api_client, tasks_run_inline, django_capture_on_commit_callbacks, smtp
) -> None:
    post(
        api_client,
        "/orders/email",
        email_order(resourceId=RESOURCE, resourceAction="sign"),
        django_capture_on_commit_callbacks,
    )

    assert emailed(smtp) == {OWN_EMAIL}


def test_the_receipt_counts_the_organizations_own_addresses_only(
    api_client, django_capture_on_commit_callbacks
) -> None:
    ResourceRight.objects.all().delete()
    Organization.objects.get().contacts.filter(
        national_identity_number__isnull=True, user_id__isnull=True
    ).delete()
    with django_capture_on_commit_callbacks(execute=False):
        response = api_client.post(f"{API}/orders/email", email_order(resourceId=RESOURCE), format="json")
    # Persons' contact points are a processing matter: at registration the organization has no address.
    assert response.json()["recipientLookup"]["status"] == "Failed"


def test_email_preferred_is_decided_for_each_permitted_person(
    api_client, tasks_run_inline, django_capture_on_commit_callbacks, smtp, smsc
) -> None:
    order = {
        "notificationChannel": "EmailPreferred",
        "emailTemplate": {"subject": "Ny melding", "body": "Hei"},
        "smsTemplate": {"body": "Hei"},
        "recipients": [{"organizationNumber": ORGNO}],
        "resourceId": RESOURCE,
    }
    post(api_client, "/orders", order, django_capture_on_commit_callbacks)

    # The organization's own list prefers email; Ida has an email; Kari has only a mobile: an SMS.
    assert emailed(smtp) == {OWN_EMAIL, IDA[1]}
    assert texted(smsc) == {KARI_MOBILE}


# --- The HTTP backend: a decision point that fails, then answers -------------------------------------


@pytest.fixture
def pdp(settings) -> Iterator[PdpFake]:
    fake = PdpFake().start()
    settings.NOTIFICATIONS_AUTHORIZATION_BACKEND = "http"
    settings.NOTIFICATIONS_AUTHORIZATION_URL = fake.url
    settings.NOTIFICATIONS_AUTHORIZATION_TIMEOUT_SECONDS = 0.5
    yield fake
    fake.stop()


@pytest.mark.parametrize("failure", ["status", "timeout"])
def test_a_failing_decision_point_postpones_the_order_and_loses_nothing(
    api_client, tasks_run_inline, django_capture_on_commit_callbacks, smtp, pdp, failure
) -> None:
    if failure == "status":
        pdp.status = 503
    else:
        pdp.delay = 3
    order_id = post(
        api_client, "/orders/email", email_order(resourceId=RESOURCE), django_capture_on_commit_callbacks
    )

    order = Order.objects.get(id=order_id)
    assert order.status == OrderStatus.PROCESSING
    assert "authorization service is unavailable" in order.processing_note
    assert order.next_attempt_at is not None
    assert not EmailNotification.objects.filter(order_id=order_id).exists()
    assert smtp.received == []

    # The decision point is back: the retry sends to the organization and the permitted person only.
    pdp.status, pdp.delay = 200, 0
    pdp.permits = {(IDA[0], ORGNO, "read")}  # by NIN, for the organization number (no ids in this registry)
    Order.objects.filter(id=order_id).update(next_attempt_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        order_process(order_id=order.id)

    assert Order.objects.get(id=order_id).status in (OrderStatus.PROCESSED, OrderStatus.COMPLETED)
    assert emailed(smtp) == {OWN_EMAIL, IDA[1]}
    request, _ = pdp.requests[-1]
    subjects = {c["Attribute"][0]["Value"] for c in request["Request"]["AccessSubject"]}
    assert subjects == {IDA[0], TOR[0], str(KARI_USER)}
    assert not SmsNotification.objects.filter(order_id=order_id).exists()


def test_an_order_without_a_resource_never_asks_the_decision_point(
    api_client, tasks_run_inline, django_capture_on_commit_callbacks, smtp, pdp
) -> None:
    pdp.status = 503
    post(api_client, "/orders/email", email_order(), django_capture_on_commit_callbacks)

    assert pdp.requests == []
    assert emailed(smtp) == {OWN_EMAIL}
