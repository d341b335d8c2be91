"""Email over real SMTP to a local aiosmtpd server: what it receives, and each failure class."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from dispatch.models import AttemptOutcome, DeliveryAttempt, ProviderPause
from dispatch.providers import email_provider
from dispatch.services.sending import notifications_send
from fakes.smtp import SmtpFake
from orders.models import Order, OrderStatus
from tests.dispatch.sending_support import email_notification, fresh_providers, use_smtp_server
from tests.factories import EmailTemplateFactory, OrderFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("fresh_providers"),
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
]
__all__ = ["fresh_providers"]


@pytest.fixture
def smtp(settings):
    fake = SmtpFake().start()
    use_smtp_server(settings, fake.port)
    yield fake
    fake.stop()


def _attempts(notification):
    return list(
        DeliveryAttempt.objects.filter(notification_id=notification.id)
        .order_by("id")
        .values_list("outcome", flat=True)
    )


def test_a_plain_email_reaches_the_smtp_server_with_sender_subject_body_and_message_id(smtp):
    template = EmailTemplateFactory(from_address="noreply@etat.no", subject="Hei", body="Hello there")
    order = OrderFactory(email=True, email_template=template, status=OrderStatus.PROCESSED)
    notification = email_notification(order=order, to_address="recipient@domain.com")

    notifications_send(channel="Email")

    [received] = smtp.received
    assert received.mail_from == "noreply@etat.no"
    assert received.rcpt_tos == ["recipient@domain.com"]
    message = received.message
    assert message["Subject"] == "Hei"
    assert message["From"] == "noreply@etat.no"
    assert message["To"] == "recipient@domain.com"
    assert message["Message-ID"] == f"<{notification.id}@etat.no>"
    assert message.get_content_type() == "text/plain"
    assert message.get_content().strip() == "Hello there"
    notification.refresh_from_db()
    # SMTP gives no delivery reports: the relay's 250 is final.
    assert notification.status == "Delivered"
    assert notification.provider == "smtp"
    assert notification.provider_reference == f"{notification.id}@etat.no"
    assert Order.objects.get(id=order.id).status == OrderStatus.COMPLETED


def test_an_html_email_is_sent_as_text_html(smtp):
    template = EmailTemplateFactory(body="<p>Hei <b>du</b></p>", content_type="Html")
    order = OrderFactory(email=True, email_template=template, status=OrderStatus.PROCESSED)
    email_notification(order=order, to_address="html@domain.com")
    notifications_send(channel="Email")
    message = smtp.received[0].message
    assert message.get_content_type() == "text/html"
    assert "<p>Hei <b>du</b></p>" in message.get_content()


def test_a_batch_is_sent_over_one_smtp_session(smtp):
    for n in range(5):
        email_notification(to_address=f"user{n}@domain.com")
    summary = notifications_send(channel="Email")
    assert summary.accepted == 5
    assert len(smtp.received) == 5
    assert smtp.sessions == 1


@pytest.mark.parametrize(
    ("rule", "status"),
    [
        ("refuse", "Failed_Bounced"),
        ("invalid", "Failed_InvalidEmailFormat"),
        ("spam", "Failed_FilteredSpam"),
    ],
)
def test_a_permanent_smtp_refusal_is_final_at_once(smtp, rule, status):
    notification = email_notification(to_address="someone@domain.com")
    smtp.rules["someone@domain.com"] = rule
    notifications_send(channel="Email")
    notification.refresh_from_db()
    assert notification.status == status
    assert notification.attempts == 1
    attempt = DeliveryAttempt.objects.get(notification_id=notification.id)
    assert attempt.outcome == AttemptOutcome.PERMANENT
    assert attempt.raw_response.startswith(("550", "553", "554"))
    assert smtp.received == []


def test_a_deferred_email_is_retried_and_fails_when_the_budget_is_spent(smtp, settings):
    settings.NOTIFICATIONS_SEND_MAX_ATTEMPTS = 2
    notification = email_notification(to_address="busy@domain.com")
    smtp.rules["busy@domain.com"] = "defer"

    notifications_send(channel="Email")
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("New", 1)
    assert "451" in notification.last_error

    with time_machine.travel(notification.not_before + timedelta(seconds=1), tick=False):
        notifications_send(channel="Email")
    notification.refresh_from_db()
    assert notification.status == "Failed"
    assert notification.last_error.startswith("gave up after 2 attempts")
    assert _attempts(notification) == [AttemptOutcome.TRANSIENT, AttemptOutcome.TRANSIENT]


def test_a_deferred_email_is_delivered_on_retry(smtp):
    notification = email_notification(to_address="later@domain.com")
    smtp.rules["later@domain.com"] = "defer-once"
    notifications_send(channel="Email")
    notification.refresh_from_db()
    with time_machine.travel(notification.not_before + timedelta(seconds=1), tick=False):
        notifications_send(channel="Email")
    notification.refresh_from_db()
    assert notification.status == "Delivered"
    assert len(smtp.by_recipient("later@domain.com")) == 1


def test_smtp_throttling_pauses_the_provider_without_spending_retry_budgets(smtp, settings):
    settings.NOTIFICATIONS_PROVIDER_THROTTLE_SECONDS = 60
    throttled = email_notification(to_address="first@domain.com")
    waiting = email_notification(to_address="second@domain.com")
    smtp.rules["first@domain.com"] = "throttle"

    summary = notifications_send(channel="Email")

    assert summary.paused_until is not None
    for notification in (throttled, waiting):
        notification.refresh_from_db()
        assert notification.status == "New"
        assert notification.attempts == 0
    assert _attempts(throttled) == [AttemptOutcome.THROTTLED]
    assert _attempts(waiting) == []  # never reached the server
    assert ProviderPause.objects.get(key="Email:smtp").paused_until > timezone.now()
    # While paused nothing is claimed, even after the rows' own backoff.
    del smtp.rules["first@domain.com"]
    with time_machine.travel(timezone.now() + timedelta(seconds=30), tick=False):
        assert notifications_send(channel="Email").claimed == 0
    with time_machine.travel(timezone.now() + timedelta(seconds=61), tick=False):
        assert notifications_send(channel="Email").accepted == 2
    assert {item.rcpt_tos[0] for item in smtp.received} == {"first@domain.com", "second@domain.com"}


def test_a_dropped_connection_is_a_transient_failure_and_the_batch_goes_on_over_a_new_session(smtp):
    dropped = email_notification(to_address="drop@domain.com")
    after = email_notification(to_address="after@domain.com")
    smtp.rules["drop@domain.com"] = "drop"

    notifications_send(channel="Email")

    dropped.refresh_from_db()
    after.refresh_from_db()
    assert (dropped.status, dropped.attempts) == ("New", 1)
    assert "connection lost" in dropped.last_error
    assert after.status == "Delivered"
    assert smtp.sessions == 2


def test_an_unreachable_server_releases_the_batch_and_pauses_without_spending_budgets(smtp, settings):
    settings.NOTIFICATIONS_PROVIDER_OUTAGE_PAUSE_SECONDS = 15
    notifications = [email_notification() for _ in range(3)]
    smtp.stop()

    summary = notifications_send(channel="Email")

    assert summary.released == 3
    for notification in notifications:
        notification.refresh_from_db()
        assert (notification.status, notification.attempts) == ("New", 0)
        assert "cannot connect" in notification.last_error
    # One attempt row says why; the rest never reached a server.
    assert DeliveryAttempt.objects.filter(outcome=AttemptOutcome.UNAVAILABLE).count() == 1
    assert ProviderPause.objects.filter(key="Email:smtp").exists()


def test_smtp_authentication_is_used_and_a_wrong_password_holds_the_batch(settings):
    fake = SmtpFake(username="mailer", password="s3cret").start()
    try:
        settings.NOTIFICATIONS_EMAIL_PROVIDER = "smtp"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", fake.port, 5
        settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "mailer", "s3cret"
        settings.EMAIL_USE_TLS = False
        good = email_notification()
        notifications_send(channel="Email")
        good.refresh_from_db()
        assert good.status == "Delivered"

        from dispatch.providers import reset_providers

        reset_providers()
        settings.EMAIL_HOST_PASSWORD = "wrong"
        held = email_notification()
        notifications_send(channel="Email")
        held.refresh_from_db()
        assert (held.status, held.attempts) == ("New", 0)
        assert "authentication failed" in held.last_error
    finally:
        fake.stop()


def test_the_next_send_run_reuses_the_smtp_session_while_it_is_fresh(smtp, settings):
    settings.NOTIFICATIONS_EMAIL_CONNECTION_IDLE_SECONDS = 30
    email_notification(to_address="first@domain.com")
    notifications_send(channel="Email")
    second = email_notification(to_address="second@domain.com")

    notifications_send(channel="Email")

    second.refresh_from_db()
    assert second.status == "Delivered"
    assert [item.rcpt_tos for item in smtp.received] == [["first@domain.com"], ["second@domain.com"]]
    assert smtp.sessions == 1  # one EHLO: the second run sent over the first run's session


def test_a_kept_session_serves_only_the_server_it_was_opened_for(smtp, settings):
    """A session kept from the last run is not used once the SMTP settings name another server (or
    account): the next message goes to the server the settings name now."""
    settings.NOTIFICATIONS_EMAIL_CONNECTION_IDLE_SECONDS = 30
    email_notification(to_address="first@domain.com")
    notifications_send(channel="Email")
    kept = email_provider()._connection
    assert kept is not None
    assert kept.connection is not None
    other = SmtpFake().start()
    try:
        use_smtp_server(settings, other.port)
        second = email_notification(to_address="second@domain.com")

        notifications_send(channel="Email")

        second.refresh_from_db()
        assert second.status == "Delivered"
        assert [item.rcpt_tos for item in smtp.received] == [["first@domain.com"]]
        assert [item.rcpt_tos for item in other.received] == [["second@domain.com"]]
        assert kept.connection is None  # the old server's session was closed
    finally:
        other.stop()


def test_a_session_idle_past_the_limit_is_replaced_and_closed_when_the_run_ends(smtp, settings):
    settings.NOTIFICATIONS_EMAIL_CONNECTION_IDLE_SECONDS = 30
    email_notification(to_address="first@domain.com")
    notifications_send(channel="Email")
    provider = email_provider()
    kept = provider._connection
    assert kept is not None
    assert kept.connection is not None  # kept open after the run

    # Idle longer than the limit (a microsecond: the first run's message is longer ago than that).
    settings.NOTIFICATIONS_EMAIL_CONNECTION_IDLE_SECONDS = 1e-6
    second = email_notification(to_address="second@domain.com")
    notifications_send(channel="Email")

    second.refresh_from_db()
    assert second.status == "Delivered"
    assert smtp.sessions == 2  # a new session for the second run
    assert kept.connection is None  # the stale one was closed (QUIT) before
    assert provider._connection is None  # and the new one when its run ended, idle past the limit by then


def test_a_session_the_server_closed_while_idle_is_replaced_before_anything_is_sent(smtp, settings):
    settings.NOTIFICATIONS_EMAIL_CONNECTION_IDLE_SECONDS = 30
    email_notification(to_address="first@domain.com")
    notifications_send(channel="Email")
    smtp.drop_sessions()  # the server's idle timeout
    second = email_notification(to_address="second@domain.com")

    notifications_send(channel="Email")

    second.refresh_from_db()
    # Not a lost connection charged to the message: sent at its first attempt over a new session.
    assert (second.status, second.attempts, second.last_error) == ("Delivered", 1, "")
    assert (
        not DeliveryAttempt.objects.filter(notification_id=second.id)
        .exclude(outcome=AttemptOutcome.ACCEPTED)
        .exists()
    )
    assert smtp.sessions == 2
