"""Claiming, sending through the sandbox, recording, retries, stuck sends and completion."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dispatch.models import AttemptOutcome, DeliveryAttempt, SandboxMessage
from dispatch.services.reports import sandbox_reports_deliver
from dispatch.services.sending import (
    notifications_claim,
    notifications_release_stuck,
    notifications_send,
    retry_delay,
)
from dispatch.tasks.sending import notifications_send_task
from orders.models import Order, OrderStatus, SendingTimePolicy
from tests.dispatch.sending_support import email_notification, fresh_providers, sms_notification
from tests.factories import EmailTemplateFactory, OrderFactory, SmsTemplateFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_providers")]
__all__ = ["fresh_providers"]


@pytest.fixture
def deliver_reports(django_capture_on_commit_callbacks):
    """Run the sandbox report sweep a few seconds later, with the after-commit completion checks."""

    def _deliver() -> int:
        with (
            time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            return sandbox_reports_deliver()

    return _deliver


def test_claim_moves_new_unexpired_rows_to_sending_in_creation_order():
    first = email_notification()
    second = email_notification()
    email_notification(expires_at=timezone.now() - timedelta(seconds=1))
    email_notification(not_before=timezone.now() + timedelta(minutes=5))
    email_notification(status="Sending", claimed_at=timezone.now())

    claimed = notifications_claim(channel="Email", pause_key="Email:sandbox", limit=10)

    assert [item.message.notification_id for item in claimed] == [first.id, second.id]
    first.refresh_from_db()
    assert first.status == "Sending"
    assert first.claimed_at is not None
    assert first.attempts == 1
    assert claimed[0].attempts == 1


def test_claimed_messages_carry_the_rows_own_text_else_the_templates_and_count_the_attempt():
    email_template = EmailTemplateFactory(from_address="a@etat.no", subject="Subject $x$", body="Body $x$")
    email_order = OrderFactory(email=True, email_template=email_template, status=OrderStatus.PROCESSED)
    rendered = email_notification(
        order=email_order, to_address="one@x.no", subject="Subject 1", body="Body 1"
    )
    plain = email_notification(order=email_order, to_address="two@x.no", subject=None, body=None, attempts=1)
    sms_order = OrderFactory(sms_template=SmsTemplateFactory(sender_number="Etat", body="Hei"))
    sms_order.status = OrderStatus.PROCESSED
    sms_order.save()
    own = sms_notification(order=sms_order, mobile_number="+4799999999", body="Hei Kari")
    templated = sms_notification(order=sms_order, mobile_number="+4798888888", body=None, attempts=2)

    emails = notifications_claim(channel="Email", pause_key="Email:sandbox", limit=10)
    sms = notifications_claim(channel="Sms", pause_key="Sms:sandbox", limit=10)

    assert [(c.message.to, c.message.subject, c.message.body, c.attempts) for c in emails] == [
        ("one@x.no", "Subject 1", "Body 1", 1),
        ("two@x.no", "Subject $x$", "Body $x$", 2),
    ]
    assert {c.message.from_address for c in emails} == {"a@etat.no"}
    assert [c.message.attempt for c in emails] == [1, 2]
    assert [(c.message.to, c.message.sender, c.message.body, c.attempts) for c in sms] == [
        ("+4799999999", "Etat", "Hei Kari", 1),
        ("+4798888888", "Etat", "Hei", 3),
    ]
    assert {c.order_id for c in emails} == {email_order.id}
    assert {c.order_id for c in sms} == {sms_order.id}
    assert len({c.claim_id for c in emails}) == 1
    for row in (rendered, plain, own, templated):
        row.refresh_from_db()
        assert row.status == "Sending"
        assert row.lease_until is not None
    assert (plain.attempts, templated.attempts) == (2, 3)


def test_claim_takes_at_most_the_batch_size():
    for _ in range(5):
        sms_notification()
    assert len(notifications_claim(channel="Sms", pause_key="Sms:sandbox", limit=3)) == 3
    assert len(notifications_claim(channel="Sms", pause_key="Sms:sandbox", limit=3)) == 2
    assert notifications_claim(channel="Sms", pause_key="Sms:sandbox", limit=3) == []


def test_daytime_sms_is_claimed_only_while_the_send_window_is_open(settings):
    settings.NOTIFICATIONS_SMS_SEND_WINDOW = "09:00-17:00"
    settings.NOTIFICATIONS_SMS_TIME_ZONE = "Europe/Oslo"
    daytime = sms_notification(sending_time_policy=SendingTimePolicy.DAYTIME)
    anytime = sms_notification(sending_time_policy=SendingTimePolicy.ANYTIME)
    night = timezone.now().replace(hour=1, minute=0) + timedelta(days=1)
    with time_machine.travel(night, tick=False):
        claimed = notifications_claim(channel="Sms", pause_key="Sms:sandbox", limit=10)
    assert [item.message.notification_id for item in claimed] == [anytime.id]
    noon = night.replace(hour=11)
    with time_machine.travel(noon, tick=False):
        claimed = notifications_claim(channel="Sms", pause_key="Sms:sandbox", limit=10)
    assert [item.message.notification_id for item in claimed] == [daytime.id]


def test_sandbox_email_is_accepted_then_delivered_and_the_order_completes(deliver_reports):
    template = EmailTemplateFactory(
        from_address="sender@etat.no", subject="Template subject", body="<p>Hei</p>", content_type="Html"
    )
    order = OrderFactory(email=True, email_template=template, status=OrderStatus.PROCESSED)
    notification = email_notification(order=order, to_address="recipient@domain.com")

    summary = notifications_send(channel="Email")

    assert summary.accepted == 1
    notification.refresh_from_db()
    assert notification.status == "Succeeded"
    assert notification.provider == "sandbox"
    assert notification.provider_reference.startswith("sandbox-")
    kept = SandboxMessage.objects.get(notification_id=notification.id)
    assert (kept.recipient, kept.sender, kept.subject, kept.body, kept.content_type) == (
        "recipient@domain.com",
        "sender@etat.no",
        "Template subject",
        "<p>Hei</p>",
        "Html",
    )
    attempt = DeliveryAttempt.objects.get(notification_id=notification.id)
    assert (attempt.outcome, attempt.status, attempt.attempt) == (AttemptOutcome.ACCEPTED, "Succeeded", 1)

    assert deliver_reports() == 1
    notification.refresh_from_db()
    assert notification.status == "Delivered"
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED


def test_rendered_texts_win_over_the_template():
    notification = email_notification(subject="Personal subject", body="Personal body")
    notifications_send(channel="Email")
    kept = SandboxMessage.objects.get(notification_id=notification.id)
    assert (kept.subject, kept.body) == ("Personal subject", "Personal body")


@pytest.mark.parametrize(
    ("address", "after_send", "after_report"),
    [
        ("perm-fail@simulator.test", "Failed_SupressedRecipient", "Failed_SupressedRecipient"),
        ("bounce@simulator.test", "Succeeded", "Failed_Bounced"),
        ("spam@simulator.test", "Succeeded", "Failed_FilteredSpam"),
        ("quarantine@simulator.test", "Succeeded", "Failed_Quarantined"),
        ("testuser_1@altinn.no", "Succeeded", "Delivered"),
    ],
)
def test_sandbox_email_recipients_simulate_each_outcome(address, after_send, after_report, deliver_reports):
    notification = email_notification(to_address=address)
    notifications_send(channel="Email")
    notification.refresh_from_db()
    assert notification.status == after_send
    deliver_reports()
    notification.refresh_from_db()
    assert notification.status == after_report


@pytest.mark.parametrize(
    ("number", "after_send", "after_report"),
    [
        ("+4799000001", "Failed_InvalidRecipient", "Failed_InvalidRecipient"),
        ("0047 990 00 002", "Accepted", "Failed_Undelivered"),
        ("+4799000004", "Accepted", "Failed_Expired"),
        ("+4799000005", "Accepted", "Failed_BarredReceiver"),
        ("+4799999999", "Accepted", "Delivered"),
    ],
)
def test_sandbox_sms_numbers_simulate_each_outcome(number, after_send, after_report, deliver_reports):
    notification = sms_notification(mobile_number=number)
    notifications_send(channel="Sms")
    notification.refresh_from_db()
    assert notification.status == after_send
    deliver_reports()
    notification.refresh_from_db()
    assert notification.status == after_report


@pytest.mark.parametrize(
    ("channel", "make"),
    [
        ("Email", lambda: email_notification(to_address="temp-fail@simulator.test")),
        ("Sms", lambda: sms_notification(mobile_number="+4799000003")),
    ],
)
def test_a_transient_failure_is_retried_after_a_backoff_and_then_delivered(channel, make):
    notification = make()
    notifications_send(channel=channel)
    notification.refresh_from_db()
    assert notification.status == "New"
    assert notification.attempts == 1
    assert notification.not_before > timezone.now()
    assert "temporary" in notification.last_error

    # Not before the backoff has passed ...
    assert notifications_send(channel=channel).claimed == 0
    with time_machine.travel(notification.not_before + timedelta(seconds=1), tick=False):
        notifications_send(channel=channel)
        sandbox_reports_deliver()
    with time_machine.travel(notification.not_before + timedelta(seconds=10), tick=False):
        sandbox_reports_deliver()
    notification.refresh_from_db()
    assert notification.status == "Delivered"
    assert notification.attempts == 2
    outcomes = list(
        DeliveryAttempt.objects.filter(notification_id=notification.id)
        .order_by("attempt")
        .values_list("outcome", flat=True)
    )
    assert outcomes == [AttemptOutcome.TRANSIENT, AttemptOutcome.ACCEPTED]


def test_retry_delay_grows_exponentially_with_jitter_and_a_cap(settings):
    settings.NOTIFICATIONS_SEND_RETRY_BASE_SECONDS = 10
    settings.NOTIFICATIONS_SEND_RETRY_MAX_SECONDS = 60
    for attempts, full in [(1, 10), (2, 20), (3, 40), (4, 60), (9, 60)]:
        delays = [retry_delay(attempts) for _ in range(50)]
        assert all(full / 2 <= delay <= full for delay in delays)
        assert len(set(delays)) > 1


def test_expired_notifications_are_never_sent():
    notification = email_notification(expires_at=timezone.now() - timedelta(minutes=1))
    assert notifications_send(channel="Email").claimed == 0
    notification.refresh_from_db()
    assert notification.status == "New"
    assert not SandboxMessage.objects.exists()


def test_a_notification_stuck_in_sending_goes_back_to_new_and_is_sent_again(settings):
    settings.NOTIFICATIONS_SEND_STUCK_AFTER_SECONDS = 600
    notification = sms_notification()
    # A worker claims the row and dies before sending anything.
    notifications_claim(channel="Sms", pause_key="Sms:sandbox", limit=10)
    assert notifications_release_stuck() == 0  # still within the grace period

    with time_machine.travel(timezone.now() + timedelta(minutes=11), tick=False):
        assert notifications_release_stuck() == 1
        notification.refresh_from_db()
        assert notification.status == "New"
        assert notification.claimed_at is None
        notifications_send(channel="Sms")
    notification.refresh_from_db()
    assert notification.status == "Accepted"
    assert notification.attempts == 2
    outcomes = list(
        DeliveryAttempt.objects.filter(notification_id=notification.id)
        .order_by("attempt")
        .values_list("outcome", flat=True)
    )
    assert outcomes == [AttemptOutcome.LOST, AttemptOutcome.ACCEPTED]


def test_a_stuck_notification_out_of_retry_budget_fails_and_completes_its_order(settings):
    settings.NOTIFICATIONS_SEND_MAX_ATTEMPTS = 1
    notification = sms_notification()
    notifications_claim(channel="Sms", pause_key="Sms:sandbox", limit=10)
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=False):
        notifications_release_stuck()
    notification.refresh_from_db()
    assert notification.status == "Failed"
    assert "gave up after 1 attempts" in notification.last_error
    assert Order.objects.get(id=notification.order_id).status == OrderStatus.COMPLETED


def test_a_late_result_from_a_released_claim_does_not_overwrite_the_new_claim(settings):
    notification = sms_notification()
    stale = notifications_claim(channel="Sms", pause_key="Sms:sandbox", limit=10)
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=False):
        notifications_release_stuck()
        fresh = notifications_claim(channel="Sms", pause_key="Sms:sandbox", limit=10)
    assert fresh[0].claimed_at != stale[0].claimed_at

    from dispatch.providers import sms_provider
    from dispatch.services.sending.send import _send_batch

    _send_batch(provider=sms_provider(), channel="Sms", claimed=stale)
    notification.refresh_from_db()
    assert notification.status == "Sending"
    assert notification.claimed_at == fresh[0].claimed_at


def test_the_send_task_sends_both_channels_and_accepts_hints():
    email = email_notification()
    sms = sms_notification()
    result = notifications_send_task.apply(kwargs={"order_id": str(email.order_id)}).get()
    assert result["accepted"] == 2
    email.refresh_from_db()
    sms.refresh_from_db()
    assert (email.status, sms.status) == ("Succeeded", "Accepted")


def test_the_send_task_succeeds_when_the_broker_refuses_the_report_run(monkeypatch):
    from kombu.exceptions import OperationalError

    from dispatch.tasks.sending import sandbox_reports_deliver_task

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    # The broker is the network edge: publishing the follow-up run fails as it does with Redis down.
    monkeypatch.setattr(sandbox_reports_deliver_task, "apply_async", broker_down)
    sms = sms_notification()
    result = notifications_send_task.apply().get()
    sms.refresh_from_db()
    assert result["accepted"] == 1
    assert sms.status == "Accepted"


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_skip_rows_another_worker_holds():
    from concurrent.futures import ThreadPoolExecutor
    from threading import Event

    from django.db import connection, transaction

    from orders.models import SmsNotification

    held = [sms_notification() for _ in range(2)]
    free = [sms_notification() for _ in range(3)]
    locked, release = Event(), Event()

    def other_worker() -> None:
        # A second connection holds row locks, as a worker in the middle of its own claim does.
        try:
            with transaction.atomic():
                list(SmsNotification.objects.select_for_update().filter(id__in=[n.id for n in held]))
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(other_worker)
        assert locked.wait(10)
        claimed = notifications_claim(channel="Sms", pause_key="Sms:sandbox", limit=10)
        release.set()
        future.result()
    assert {item.message.notification_id for item in claimed} == {n.id for n in free}
    assert SmsNotification.objects.filter(status="New").count() == 2


def test_a_claim_is_three_statements_without_a_transaction_of_its_own():
    """The pause read, the claim's one UPDATE (committed by itself) and the read of its orders: no BEGIN,
    COMMIT or SAVEPOINT around them, which were two of five round trips on an immediate email's path."""
    due = sms_notification()
    with CaptureQueriesContext(connection) as queries:
        claimed = notifications_claim(channel="Sms", pause_key="Sms:sandbox", limit=10)

    assert [item.message.notification_id for item in claimed] == [due.id]
    first_words = [query["sql"].split()[0].upper() for query in queries.captured_queries]
    assert first_words == ["SELECT", "WITH", "SELECT"]
    assert "FOR UPDATE SKIP LOCKED" in queries.captured_queries[1]["sql"]
    due.refresh_from_db()
    assert (due.status, due.attempts) == ("Sending", 1)
