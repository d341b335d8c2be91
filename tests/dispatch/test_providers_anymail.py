"""Email through an ESP with django-anymail (Postmark's HTTP API, served locally)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dispatch.models import ProviderPause
from dispatch.services.sending import notifications_send
from fakes.postmark import PostmarkFake
from orders.models import OrderStatus
from tests.dispatch.sending_support import email_notification, fresh_providers
from tests.factories import EmailTemplateFactory, OrderFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_providers")]
__all__ = ["fresh_providers"]


@pytest.fixture
def postmark_api(settings):
    fake = PostmarkFake().start()
    settings.NOTIFICATIONS_EMAIL_PROVIDER = "anymail"
    settings.NOTIFICATIONS_ANYMAIL_ESP = "postmark"
    settings.ANYMAIL = {
        "POSTMARK_SERVER_TOKEN": fake.token,
        "POSTMARK_API_URL": fake.url,
        "WEBHOOK_SECRET": "a:b",
    }
    yield fake
    fake.stop()


def test_an_html_email_goes_to_the_esp_with_our_id_as_metadata_and_waits_for_its_report(postmark_api):
    template = EmailTemplateFactory(
        from_address="noreply@etat.no", subject="Hei", body="<p>Hei</p>", content_type="Html"
    )
    notification = email_notification(
        order=OrderFactory(email=True, email_template=template, status=OrderStatus.PROCESSED),
        to_address="a@domain.com",
    )
    notifications_send(channel="Email")

    [request] = postmark_api.requests
    assert (request["From"], request["To"], request["Subject"], request["HtmlBody"]) == (
        "noreply@etat.no",
        "a@domain.com",
        "Hei",
        "<p>Hei</p>",
    )
    assert request["Metadata"] == {"notification_id": str(notification.id)}
    notification.refresh_from_db()
    # An ESP reports delivery later through its webhook: accepted is Succeeded, not final.
    assert (notification.status, notification.provider) == ("Succeeded", "postmark")
    assert len(notification.provider_reference) == 36


@pytest.mark.parametrize(
    ("rule", "status"), [("invalid", "Failed_InvalidEmailFormat"), ("inactive", "Failed_SupressedRecipient")]
)
def test_a_recipient_the_esp_refuses_fails_at_once(postmark_api, rule, status):
    notification = email_notification(to_address="x@domain.com")
    postmark_api.rules["x@domain.com"] = rule
    notifications_send(channel="Email")
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (status, 1)


def test_an_esp_429_pauses_it_for_its_retry_after(postmark_api):
    notification = email_notification(to_address="y@domain.com")
    postmark_api.rules["y@domain.com"] = "throttle"
    notifications_send(channel="Email")
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("New", 0)
    remaining = ProviderPause.objects.get(key="Email:postmark").paused_until - timezone.now()
    assert timedelta(seconds=2) < remaining <= timedelta(seconds=3)


def test_an_esp_server_error_is_transient(postmark_api):
    notification = email_notification(to_address="z@domain.com")
    postmark_api.rules["z@domain.com"] = "error"
    notifications_send(channel="Email")
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("New", 1)
    assert notification.not_before > timezone.now()
