"""Composed emails at send time: attachments fetched from a local HTTPS file server (a self-signed
certificate the test trusts) and sent as MIME parts to the local SMTP server; every fetch failure's
final status; the guard; end to end through the API, the status feed and a status callback.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from rest_framework.test import APIClient

import dispatch.tasks  # noqa: F401 - registers the tasks that are enqueued by name
from dispatch.models import CallbackDelivery, DeliveryAttempt
from dispatch.services.retention import order_content_purge
from dispatch.services.sending import notifications_send
from fakes.https_files import FileRoute, HttpsFileServer
from fakes.postmark import PostmarkFake
from fakes.smtp import SmtpFake
from notifications_project.celery import app as celery_app
from orders.models import EmailAttachment, EmailNotification, EmailStatus, Order, OrderStatus, OrderType
from tests.dispatch.sending_support import email_notification, fresh_providers, use_smtp_server
from tests.factories import EmailTemplateFactory, OrderFactory
from tests.orders.admin_support import groups, support, support_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_providers")]
__all__ = ["fresh_providers", "groups", "support", "support_client"]
API = "/notifications/api/v1"
COMPOSED_SCOPE = "altinn:serviceowner/notifications.composedemail.create"
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
CSV = "navn;beløp\r\nOla;100\r\n".encode()


@pytest.fixture
def smtp(settings: Any) -> Any:
    fake = SmtpFake().start()
    use_smtp_server(settings, fake.port)
    yield fake
    fake.stop()


@pytest.fixture
def files(settings: Any) -> Any:
    server = HttpsFileServer().start()
    # Test-only: the file server is on loopback, which the outbound guard refuses in production.
    settings.NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.NOTIFICATIONS_ATTACHMENT_CA_FILE = server.ca_file
    settings.NOTIFICATIONS_ATTACHMENT_TIMEOUT_SECONDS = 2
    settings.NOTIFICATIONS_SEND_MAX_ATTEMPTS = 2
    yield server
    server.stop()


def composed_email(*attachments: tuple[str, str, str], **order_fields: Any) -> EmailNotification:
    template = EmailTemplateFactory(from_address="noreply@etat.no", subject="Vedtak", body="Se vedlegg.")
    order = OrderFactory(
        email=True,
        email_template=template,
        type=OrderType.COMPOSED,
        status=OrderStatus.PROCESSED,
        **order_fields,
    )
    for position, (filename, mime_type, url) in enumerate(attachments):
        EmailAttachment.objects.create(
            order=order, position=position, filename=filename, mime_type=mime_type, url=url
        )
    notification: EmailNotification = email_notification(order=order, to_address="ola@example.no")
    return notification


def _status(notification: EmailNotification) -> tuple[str, str]:
    notification.refresh_from_db()
    return notification.status, notification.last_error


def _retry_due(notification: EmailNotification) -> Any:
    notification.refresh_from_db()
    assert notification.not_before is not None
    return time_machine.travel(notification.not_before + timedelta(seconds=1), tick=False)


# --- what the SMTP server receives --------------------------------------------------------------------


def test_attachments_reach_the_smtp_server_as_parts_with_their_names_types_and_bytes(
    smtp: Any, files: Any
) -> None:
    files.routes["/vedtak.pdf"] = FileRoute(body=PDF, content_type="application/pdf")
    files.routes["/tall.csv"] = FileRoute(body=CSV, content_type=None)  # no type: the declared one counts
    notification = composed_email(
        ("vedtak.pdf", "application/pdf", files.url("/vedtak.pdf?sig=s3cret&se=2030-01-01")),
        ("Beløp æøå.csv", "text/csv", files.url("/tall.csv")),
    )

    notifications_send(channel="Email")

    assert _status(notification)[0] == EmailStatus.DELIVERED
    [received] = smtp.received
    message = received.message
    assert message.get_content_type() == "multipart/mixed"
    assert message.get_body(("plain",)).get_content().strip() == "Se vedlegg."
    parts = list(message.iter_attachments())
    assert [(p.get_filename(), p.get_content_type()) for p in parts] == [
        ("vedtak.pdf", "application/pdf"),
        ("Beløp æøå.csv", "text/csv"),
    ]
    assert [p.get_payload(decode=True) for p in parts] == [PDF, CSV]
    assert files.requests == ["/vedtak.pdf?sig=s3cret&se=2030-01-01", "/tall.csv"]


def test_an_esp_gets_the_attachments_through_anymail(settings: Any, files: Any) -> None:
    postmark = PostmarkFake().start()
    settings.NOTIFICATIONS_EMAIL_PROVIDER = "anymail"
    settings.NOTIFICATIONS_ANYMAIL_ESP = "postmark"
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": postmark.token, "POSTMARK_API_URL": postmark.url}
    files.routes["/vedtak.pdf"] = FileRoute(body=PDF, content_type="application/pdf")
    notification = composed_email(("vedtak.pdf", "application/pdf", files.url("/vedtak.pdf")))
    try:
        notifications_send(channel="Email")
    finally:
        postmark.stop()

    assert _status(notification)[0] == EmailStatus.SUCCEEDED
    [request] = postmark.requests
    [sent] = request["Attachments"]
    assert (sent["Name"], sent["ContentType"]) == ("vedtak.pdf", "application/pdf")
    assert base64.b64decode(sent["Content"]) == PDF


def test_an_email_without_attachments_fetches_nothing(smtp: Any, files: Any) -> None:
    notification = composed_email()

    notifications_send(channel="Email")

    assert _status(notification)[0] == EmailStatus.DELIVERED
    assert files.requests == []
    assert smtp.received[0].message.get_content_type() == "text/plain"


# --- failures that are final at once --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        (FileRoute(status=404, body=b"BlobNotFound"), "answered 404"),
        (FileRoute(status=403, body=b"AuthenticationFailed: Signed expiry time has passed"), "answered 403"),
        (FileRoute(status=302, headers={"Location": "https://169.254.169.254/"}), "answered 302"),
        (FileRoute(body=b"<html></html>", content_type="text/html; charset=utf-8"), "serves it as text/html"),
    ],
    ids=["not-found", "expired", "redirect", "wrong-type"],
)
def test_a_link_that_fails_for_good_is_failed_invalid_attachment_and_nothing_is_sent(
    smtp: Any, files: Any, route: FileRoute, reason: str
) -> None:
    files.routes["/a.pdf"] = route
    notification = composed_email(("a.pdf", "application/pdf", files.url("/a.pdf?sig=s3cret")))

    notifications_send(channel="Email")

    status, error = _status(notification)
    assert status == EmailStatus.FAILED_INVALID_ATTACHMENT
    assert reason in error
    assert "'a.pdf'" in error
    assert "s3cret" not in error  # the signed link's query is a credential
    assert smtp.received == []
    assert len(files.requests) == 1  # not retried


def test_a_file_over_the_limit_is_failed_payload_too_large_without_reading_it_all(
    smtp: Any, files: Any, settings: Any
) -> None:
    settings.NOTIFICATIONS_ATTACHMENT_MAX_BYTES = 1000
    files.routes["/big.pdf"] = FileRoute(body=b"x" * 5000, content_type="application/pdf")
    files.routes["/chunked.pdf"] = FileRoute(
        body=b"x" * 5000, content_type="application/pdf", content_length=False
    )
    first = composed_email(("big.pdf", "application/pdf", files.url("/big.pdf")))
    second = composed_email(("chunked.pdf", "application/pdf", files.url("/chunked.pdf")))

    notifications_send(channel="Email")

    for notification in (first, second):
        status, error = _status(notification)
        assert status == EmailStatus.FAILED_PAYLOAD_TOO_LARGE
        assert "NOTIFICATIONS_ATTACHMENT_MAX_BYTES" in error
    assert smtp.received == []


def test_the_attachments_together_are_limited_too(smtp: Any, files: Any, settings: Any) -> None:
    settings.NOTIFICATIONS_ATTACHMENT_MAX_BYTES = 1000
    settings.NOTIFICATIONS_ATTACHMENT_MAX_TOTAL_BYTES = 1500
    files.routes["/a.pdf"] = FileRoute(body=b"a" * 800, content_type="application/pdf")
    files.routes["/b.pdf"] = FileRoute(body=b"b" * 800, content_type="application/pdf", content_length=False)
    notification = composed_email(
        ("a.pdf", "application/pdf", files.url("/a.pdf")), ("b.pdf", "application/pdf", files.url("/b.pdf"))
    )

    notifications_send(channel="Email")

    status, error = _status(notification)
    assert status == EmailStatus.FAILED_PAYLOAD_TOO_LARGE
    assert "NOTIFICATIONS_ATTACHMENT_MAX_TOTAL_BYTES" in error


def test_a_host_no_longer_allowed_or_a_type_no_longer_allowed_fails_at_send_time(
    smtp: Any, files: Any, settings: Any
) -> None:
    files.routes["/a.pdf"] = FileRoute(body=PDF, content_type="application/pdf")
    host = composed_email(("a.pdf", "application/pdf", files.url("/a.pdf")))
    settings.NOTIFICATIONS_ATTACHMENT_ALLOWED_HOSTS = ["files.example.no"]

    notifications_send(channel="Email")

    assert _status(host)[0] == EmailStatus.FAILED_INVALID_ATTACHMENT
    settings.NOTIFICATIONS_ATTACHMENT_ALLOWED_HOSTS = []
    settings.NOTIFICATIONS_ATTACHMENT_MIME_TYPES = ["image/png"]
    kind = composed_email(("a.pdf", "application/pdf", files.url("/a.pdf")))

    notifications_send(channel="Email")

    assert _status(kind)[0] == EmailStatus.FAILED_INVALID_ATTACHMENT
    assert files.requests == []
    assert smtp.received == []


def test_the_outbound_guard_refuses_loopback_unless_allowed(smtp: Any, files: Any, settings: Any) -> None:
    settings.NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS = []  # the production default
    files.routes["/a.pdf"] = FileRoute(body=PDF, content_type="application/pdf")
    notification = composed_email(("a.pdf", "application/pdf", files.url("/a.pdf")))

    notifications_send(channel="Email")

    status, error = _status(notification)
    assert status == EmailStatus.FAILED_INVALID_ATTACHMENT
    assert "not allowed" in error
    assert files.requests == []


def test_an_untrusted_certificate_is_not_accepted(smtp: Any, files: Any, settings: Any) -> None:
    settings.NOTIFICATIONS_ATTACHMENT_CA_FILE = ""  # the system's CAs do not know the test's certificate
    files.routes["/a.pdf"] = FileRoute(body=PDF, content_type="application/pdf")
    notification = composed_email(("a.pdf", "application/pdf", files.url("/a.pdf")))

    notifications_send(channel="Email")

    status, error = _status(notification)
    assert status == EmailStatus.NEW  # transient: retried later
    assert "ConnectError" in error
    assert smtp.received == []


# --- transient failures: retried, then Failed -----------------------------------------------------------


@pytest.mark.parametrize(
    "route",
    [
        FileRoute(status=503, body=b"ServerBusy"),
        FileRoute(status=429, body=b"slow down"),
        FileRoute(body=PDF, content_type="application/pdf", delay=4),
    ],
    ids=["5xx", "429", "slow"],
)
def test_a_transient_fetch_failure_is_retried_and_finally_failed(
    smtp: Any, files: Any, route: FileRoute
) -> None:
    files.routes["/a.pdf"] = route
    notification = composed_email(("a.pdf", "application/pdf", files.url("/a.pdf")))

    notifications_send(channel="Email")

    assert _status(notification)[0] == EmailStatus.NEW
    with _retry_due(notification):
        notifications_send(channel="Email")

    status, error = _status(notification)
    assert status == EmailStatus.FAILED  # NOTIFICATIONS_SEND_MAX_ATTEMPTS = 2
    assert "'a.pdf'" in error
    assert DeliveryAttempt.objects.filter(notification_id=notification.id).count() == 2
    assert smtp.received == []


def test_a_file_that_comes_back_is_sent_on_the_retry(smtp: Any, files: Any) -> None:
    files.routes["/a.pdf"] = FileRoute(status=500)
    notification = composed_email(("a.pdf", "application/pdf", files.url("/a.pdf")))
    notifications_send(channel="Email")
    files.routes["/a.pdf"] = FileRoute(body=PDF, content_type="application/pdf")

    with _retry_due(notification):
        notifications_send(channel="Email")

    assert _status(notification)[0] == EmailStatus.DELIVERED
    [part] = list(smtp.received[0].message.iter_attachments())
    assert part.get_payload(decode=True) == PDF


def test_one_bad_attachment_fails_only_its_own_email(smtp: Any, files: Any) -> None:
    files.routes["/good.pdf"] = FileRoute(body=PDF, content_type="application/pdf")
    bad = composed_email(("gone.pdf", "application/pdf", files.url("/gone.pdf")))
    good = composed_email(("good.pdf", "application/pdf", files.url("/good.pdf")))
    plain = email_notification(to_address="kari@example.no")

    notifications_send(channel="Email")

    assert _status(bad)[0] == EmailStatus.FAILED_INVALID_ATTACHMENT
    assert _status(good)[0] == EmailStatus.DELIVERED
    assert _status(plain)[0] == EmailStatus.DELIVERED
    assert len(smtp.received) == 2


# --- the final status everywhere it is reported ---------------------------------------------------------


def test_a_failed_attachment_completes_the_order_and_is_in_the_callback(smtp: Any, files: Any) -> None:
    notification = composed_email(
        ("a.pdf", "application/pdf", files.url("/a.pdf")), status_callback_url="https://client.example.no/cb"
    )

    notifications_send(channel="Email")

    assert _status(notification)[0] == EmailStatus.FAILED_INVALID_ATTACHMENT
    callback = CallbackDelivery.objects.get(notification_id=notification.id)
    assert callback.status == "Failed_InvalidAttachment"
    send_status = callback.payload["notification"]["sendStatus"]
    assert send_status["status"] == "Failed_InvalidAttachment"
    assert "attachment" in send_status["description"]
    assert callback.payload["notification"]["succeeded"] is False


def test_retention_purges_the_attachment_names_and_links(smtp: Any, files: Any) -> None:
    notification = composed_email(("ola-nordmann.pdf", "application/pdf", files.url("/a.pdf?sig=s3cret")))
    notifications_send(channel="Email")
    Order.objects.filter(id=notification.order_id).update(status=OrderStatus.COMPLETED)

    order_content_purge(order_id=notification.order_id)

    [row] = EmailAttachment.objects.filter(order_id=notification.order_id).values(
        "filename", "mime_type", "url"
    )
    assert row == {"filename": "", "mime_type": "application/pdf", "url": ""}


@pytest.fixture
def tasks_run_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tasks enqueued by name run at once in this process, as a worker would run them."""

    def send_task(name: str, args: list[Any] | None = None, kwargs: dict[str, Any] | None = None, **_: Any):
        return celery_app.tasks[name].apply(args=args or [], kwargs=kwargs or {})

    monkeypatch.setattr(celery_app, "send_task", send_task)


@pytest.mark.parametrize(
    ("route", "lifecycle"),
    [
        (FileRoute(body=PDF, content_type="application/pdf"), "Email_Delivered"),
        (FileRoute(status=403, body=b"expired"), "Email_Failed_InvalidAttachment"),
        (FileRoute(body=b"x" * 30_000, content_type="application/pdf"), "Email_Failed_PayloadTooLarge"),
    ],
    ids=["delivered", "invalid", "too-large"],
)
def test_end_to_end_from_the_api_to_the_smtp_server_and_the_status_feed(
    smtp: Any,
    files: Any,
    settings: Any,
    make_token: Any,
    tasks_run_inline: None,
    django_capture_on_commit_callbacks: Any,
    route: FileRoute,
    lifecycle: str,
) -> None:
    settings.NOTIFICATIONS_ATTACHMENT_MAX_BYTES = 20_000
    files.routes["/vedtak.pdf"] = route
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(scopes=[COMPOSED_SCOPE])}")
    body = {
        "idempotencyId": f"e2e-{lifecycle}",
        "recipient": {
            "emailAddress": "ola@example.no",
            "emailSettings": {
                "subject": "Vedtak $recipientName$",
                "body": "Se vedlegg.",
                "attachments": [
                    {"filename": "vedtak.pdf", "mimeType": "application/pdf", "url": files.url("/vedtak.pdf")}
                ],
            },
        },
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{API}/future/orders/composed-email", json.dumps(body), content_type="application/json"
        )
    assert response.status_code == 201, response.content
    shipment_id = response.json()["notification"]["shipmentId"]

    order = Order.objects.get(id=shipment_id)
    assert order.status == OrderStatus.COMPLETED
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token()}")
    manifest = reader.get(f"{API}/future/shipment/{shipment_id}").json()
    assert manifest["type"] == "Composed"
    assert [(r["destination"], r["status"]) for r in manifest["recipients"]] == [
        ("ola@example.no", lifecycle)
    ]
    [entry] = reader.get(f"{API}/future/shipment/feed").json()
    assert entry["shipmentType"] == "Composed"
    assert [r["status"] for r in entry["recipients"]] == [lifecycle]
    if lifecycle == "Email_Delivered":
        [received] = smtp.received
        assert received.message["Subject"] == "Vedtak $recipientName$"  # no keyword substitution
        [part] = list(received.message.iter_attachments())
        assert part.get_payload(decode=True) == PDF
    else:
        assert smtp.received == []
    # The v1 list reads the same status with its description.
    listed = reader.get(f"{API}/orders/{shipment_id}/notifications/email").json()
    status = listed["notifications"][0]["sendStatus"]
    assert status["status"] == lifecycle.removeprefix("Email_")
    assert status["description"]


def test_the_order_page_lists_the_attachments_without_the_links_query(support_client: Any) -> None:
    notification = composed_email(
        ("vedtak.pdf", "application/pdf", "https://files.example.no/v/42.pdf?sig=s3cret")
    )

    page = support_client.get(
        reverse("admin:orders_order_change", args=[notification.order_id])
    ).content.decode()

    assert "vedtak.pdf" in page
    assert "https://files.example.no/v/42.pdf" in page
    assert "s3cret" not in page
