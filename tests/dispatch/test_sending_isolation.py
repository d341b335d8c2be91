"""A message that cannot be sent fails alone: never its batch, never another creator's notifications.

Rows are stored straight through the ORM, as rows registered before the API validated senders were,
and sent over the real protocols to the local SMTP server and SMSC.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from django.core.mail import EmailMessage as DjangoEmailMessage
from django.core.mail.backends.base import BaseEmailBackend

from dispatch.models import AttemptOutcome, DeliveryAttempt, ProviderPause
from dispatch.services.sending import notifications_send
from fakes.smpp import SmppFake
from fakes.smtp import SmtpFake
from orders.models import EmailNotification, OrderStatus, SmsNotification
from tests.dispatch.sending_support import fresh_providers, use_smsc, use_smtp_server
from tests.factories import (
    EmailNotificationFactory,
    EmailTemplateFactory,
    OrderFactory,
    SmsNotificationFactory,
    SmsTemplateFactory,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("fresh_providers"),
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
]
__all__ = ["fresh_providers"]

GOOD = 300


@pytest.fixture
def smtp(settings):
    fake = SmtpFake().start()
    use_smtp_server(settings, fake.port)
    yield fake
    fake.stop()


@pytest.fixture
def smsc(settings):
    fake = SmppFake(system_id="notify", password="secret").start()
    use_smsc(settings, fake.port)
    yield fake
    fake.stop()


def _bad_email(**template: str) -> EmailNotification:
    order = OrderFactory(
        creator="ttd",
        email=True,
        email_template=EmailTemplateFactory(**template),
        status=OrderStatus.PROCESSED,
    )
    return EmailNotificationFactory(order=order, to_address="someone@domain.com")


def _good_emails(count: int) -> list[EmailNotification]:
    order = OrderFactory(
        creator="digdir",
        email=True,
        email_template=EmailTemplateFactory(from_address="noreply@digdir.no"),
        status=OrderStatus.PROCESSED,
    )
    return EmailNotificationFactory.create_batch(count, order=order)


def _assert_only_the_bad_one_failed(bad, good, model) -> None:
    bad.refresh_from_db()
    assert bad.status.startswith("Failed"), bad.status
    assert bad.attempts == 1
    [attempt] = DeliveryAttempt.objects.filter(notification_id=bad.id)
    assert attempt.outcome == AttemptOutcome.PERMANENT
    assert attempt.error
    assert attempt.error == bad.last_error
    good_ids = [row.id for row in good]
    assert model.objects.filter(id__in=good_ids, attempts=1, last_error="").count() == len(good)
    assert not model.objects.filter(id__in=good_ids).exclude(status__in=("Delivered", "Accepted")).exists()
    assert (
        not DeliveryAttempt.objects.filter(notification_id__in=good_ids)
        .exclude(outcome=AttemptOutcome.ACCEPTED)
        .exists()
    )
    assert not ProviderPause.objects.exists()


def test_a_stored_sender_with_a_header_injection_fails_alone_and_300_emails_of_another_creator_go_out(smtp):
    bad = _bad_email(from_address="noreply@ttd.no\r\nBcc: victim@evil.test")
    good = _good_emails(GOOD)

    notifications_send(channel="Email")

    _assert_only_the_bad_one_failed(bad, good, EmailNotification)
    assert "sender" in bad.last_error
    assert len(smtp.received) == GOOD
    assert all("victim@evil.test" not in received.rcpt_tos for received in smtp.received)


@pytest.mark.parametrize(
    "template",
    [
        {"from_address": "a;b@ttd.no"},  # the reference's address rule admits ";", RFC 5322 does not
        {"from_address": "noreply@ttd.no, other@ttd.no"},
        {"subject": "Line one\nBcc: victim@evil.test"},  # a subject stored before newlines were folded
    ],
    ids=["semicolon", "two-addresses", "subject-newline"],
)
def test_any_message_the_email_library_refuses_fails_alone(smtp, template):
    bad = _bad_email(**template)
    good = _good_emails(20)

    notifications_send(channel="Email")

    _assert_only_the_bad_one_failed(bad, good, EmailNotification)
    assert len(smtp.received) == 20


def test_a_recipient_address_the_email_library_refuses_is_an_invalid_format_and_fails_alone(smtp):
    order = OrderFactory(email=True, status=OrderStatus.PROCESSED)
    bad = EmailNotificationFactory(order=order, to_address="someone@domain.com\r\nBcc: victim@evil.test")
    good = _good_emails(20)

    notifications_send(channel="Email")

    _assert_only_the_bad_one_failed(bad, good, EmailNotification)
    assert bad.status == "Failed_InvalidEmailFormat"
    assert len(smtp.received) == 20


def test_a_stored_sms_sender_the_smpp_library_cannot_encode_fails_alone(smsc):
    order = OrderFactory(
        creator="ttd",
        sms_template=SmsTemplateFactory(sender_number="Etat\u2603"),  # not Latin-1: smpplib cannot write it
        status=OrderStatus.PROCESSED,
    )
    bad = SmsNotificationFactory(order=order, mobile_number="+4799999999")
    other = OrderFactory(
        creator="digdir",
        sms_template=SmsTemplateFactory(sender_number="Digdir"),
        status=OrderStatus.PROCESSED,
    )
    good = SmsNotificationFactory.create_batch(GOOD, order=other)

    notifications_send(channel="Sms")

    _assert_only_the_bad_one_failed(bad, good, SmsNotification)
    assert bad.status == "Failed_Rejected"
    assert "sender" in bad.last_error
    assert len(smsc.submits) == GOOD


class ExplodingBackend(BaseEmailBackend):
    """A Django email backend (any may be configured) with a bug that one recipient triggers."""

    def send_messages(self, email_messages: Sequence[DjangoEmailMessage]) -> int:
        for message in email_messages:
            if "boom@domain.com" in message.to:
                raise RuntimeError("a library bug")
        return len(email_messages)


def test_an_error_no_provider_classified_is_charged_to_its_message_alone(settings):
    settings.NOTIFICATIONS_EMAIL_PROVIDER = f"{__name__}.ExplodingBackend"
    order = OrderFactory(email=True, status=OrderStatus.PROCESSED)
    boom = EmailNotificationFactory(order=order, to_address="boom@domain.com")
    good = _good_emails(20)

    notifications_send(channel="Email")

    boom.refresh_from_db()
    assert boom.status == "New"  # retried later, within its budget
    assert boom.not_before is not None
    assert "RuntimeError" in boom.last_error
    [attempt] = DeliveryAttempt.objects.filter(notification_id=boom.id)
    assert attempt.outcome == AttemptOutcome.TRANSIENT
    good_ids = [row.id for row in good]
    assert EmailNotification.objects.filter(id__in=good_ids, status="Delivered", last_error="").count() == 20
    assert not ProviderPause.objects.exists()
