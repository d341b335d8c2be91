"""Order processing: channel rules, keyword rendering, bulk generation and the order's status moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dispatch.services import processing
from dispatch.services.order_claims import order_claim
from dispatch.services.processing import order_process, order_process_claimed, orders_process_due
from notifications_project.celery import app as celery_app
from orders.models import (
    EmailNotification,
    NotificationChannel,
    Order,
    OrderStatus,
    Organization,
    OrganizationContact,
    Person,
    Recipient,
    SendingTimePolicy,
    SmsNotification,
)
from tests.factories import EmailTemplateFactory, OrderFactory, SmsTemplateFactory

pytestmark = pytest.mark.django_db

NIN = "01010112345"
ORGNO = "311000001"


def make_order(
    channel: str = NotificationChannel.SMS,
    recipients: list[dict[str, Any]] | None = None,
    *,
    sms_body: str = "Hello",
    email_subject: str = "Subject",
    email_body: str = "Body",
    email_content_type: str = "Plain",
    **fields: Any,
) -> Order:
    """A due order with templates for its channel(s) and the given recipients (by position)."""
    needs_email = channel != NotificationChannel.SMS
    needs_sms = channel != NotificationChannel.EMAIL
    fields.setdefault("requested_send_time", timezone.now())
    fields.setdefault("sending_time_policy", SendingTimePolicy.ANYTIME)
    order = OrderFactory(
        notification_channel=channel,
        sms_template=SmsTemplateFactory(body=sms_body) if needs_sms else None,
        email_template=(
            EmailTemplateFactory(subject=email_subject, body=email_body, content_type=email_content_type)
            if needs_email
            else None
        ),
        **fields,
    )
    Recipient.objects.bulk_create(
        Recipient(order=order, position=position, **recipient)
        for position, recipient in enumerate(recipients or [{"mobile_number": "+4799999999"}])
    )
    return order


def person(nin: str = NIN, *, name: str = "Ola Nordmann", mobile: str = "", email: str = "", reserved=False):
    return Person.objects.create(
        national_identity_number=nin, name=name, mobile_number=mobile, email_address=email, reserved=reserved
    )


def organization(number: str = ORGNO, *, name: str = "Testbedrift AS", emails=(), mobiles=()):
    org = Organization.objects.create(organization_number=number, name=name)
    for address in emails:
        OrganizationContact.objects.create(organization=org, kind="email", address=address)
    for address in mobiles:
        OrganizationContact.objects.create(organization=org, kind="sms", address=address)
    return org


def generated(order: Order) -> set[tuple[str, str, str]]:
    """(channel, address, status) of every notification of the order."""
    emails = {("email", n.to_address, n.status) for n in EmailNotification.objects.filter(order=order)}
    sms = {("sms", n.mobile_number, n.status) for n in SmsNotification.objects.filter(order=order)}
    return emails | sms


@pytest.fixture
def sent_tasks(monkeypatch) -> list[str]:
    """Task names published to the broker (the network edge), recorded instead of sent."""
    names: list[str] = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, *a, **k: names.append(name))
    return names


# --- channel rules (reference §3.5-3.6) --------------------------------------------------------------

PERSON_BOTH = {"mobile": "+4799315000", "email": "ola@example.no"}


@pytest.mark.parametrize(
    ("channel", "contact", "expected"),
    [
        ("Email", PERSON_BOTH, {("email", "ola@example.no", "New")}),
        ("Sms", PERSON_BOTH, {("sms", "+4799315000", "New")}),
        ("EmailAndSms", PERSON_BOTH, {("email", "ola@example.no", "New"), ("sms", "+4799315000", "New")}),
        ("EmailPreferred", PERSON_BOTH, {("email", "ola@example.no", "New")}),
        ("SmsPreferred", PERSON_BOTH, {("sms", "+4799315000", "New")}),
        ("EmailPreferred", {"mobile": "+4799315000"}, {("sms", "+4799315000", "New")}),
        ("SmsPreferred", {"email": "ola@example.no"}, {("email", "ola@example.no", "New")}),
        ("Email", {"mobile": "+4799315000"}, {("email", "", "Failed_RecipientNotIdentified")}),
        ("Sms", {"email": "ola@example.no"}, {("sms", "", "Failed_RecipientNotIdentified")}),
        (
            "EmailAndSms",
            {"email": "ola@example.no"},
            {("email", "ola@example.no", "New"), ("sms", "", "Failed_RecipientNotIdentified")},
        ),
        ("EmailPreferred", {}, {("email", "", "Failed_RecipientNotIdentified")}),
        ("SmsPreferred", {}, {("sms", "", "Failed_RecipientNotIdentified")}),
    ],
)
def test_person_channel_rules(channel, contact, expected):
    person(**contact)
    order = make_order(channel, [{"national_identity_number": NIN}])

    order_process(order_id=order.id)

    assert generated(order) == expected


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ("Email", {("email", "", "Failed_RecipientReserved")}),
        ("Sms", {("sms", "", "Failed_RecipientReserved")}),
        ("EmailAndSms", {("email", "", "Failed_RecipientReserved"), ("sms", "", "Failed_RecipientReserved")}),
        ("EmailPreferred", {("email", "", "Failed_RecipientReserved")}),
        ("SmsPreferred", {("sms", "", "Failed_RecipientReserved")}),
    ],
)
def test_reserved_person_gets_one_failed_notification_per_channel_with_empty_address(channel, expected):
    person(reserved=True, **PERSON_BOTH)
    order = make_order(channel, [{"national_identity_number": NIN}])

    order_process(order_id=order.id)

    assert generated(order) == expected
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED  # nothing left to send


def test_reservation_is_ignored_when_the_order_says_so():
    person(reserved=True, **PERSON_BOTH)
    order = make_order("Sms", [{"national_identity_number": NIN}], ignore_reservation=True)

    order_process(order_id=order.id)

    assert generated(order) == {("sms", "+4799315000", "New")}


def test_person_unknown_to_the_registry_is_not_identified():
    order = make_order("EmailAndSms", [{"national_identity_number": "99999999999"}])

    order_process(order_id=order.id)

    assert generated(order) == {
        ("email", "", "Failed_RecipientNotIdentified"),
        ("sms", "", "Failed_RecipientNotIdentified"),
    }


ORG_EMAILS = ("post@testbedrift.no", "varsel@testbedrift.no")
ORG_MOBILES = ("+4799999991", "+4799999992")


@pytest.mark.parametrize(
    ("channel", "emails", "mobiles", "expected"),
    [
        ("Email", ORG_EMAILS, ORG_MOBILES, {("email", a, "New") for a in ORG_EMAILS}),
        ("Sms", ORG_EMAILS, ORG_MOBILES, {("sms", m, "New") for m in ORG_MOBILES}),
        (
            "EmailAndSms",
            ORG_EMAILS,
            ORG_MOBILES,
            {("email", a, "New") for a in ORG_EMAILS} | {("sms", m, "New") for m in ORG_MOBILES},
        ),
        ("EmailPreferred", ORG_EMAILS, ORG_MOBILES, {("email", a, "New") for a in ORG_EMAILS}),
        ("EmailPreferred", (), ORG_MOBILES, {("sms", m, "New") for m in ORG_MOBILES}),
        ("SmsPreferred", ORG_EMAILS, ORG_MOBILES, {("sms", m, "New") for m in ORG_MOBILES}),
        ("SmsPreferred", ORG_EMAILS, (), {("email", a, "New") for a in ORG_EMAILS}),
        ("Sms", ORG_EMAILS, (), {("sms", "", "Failed_RecipientNotIdentified")}),
    ],
)
def test_organization_gets_one_notification_per_notification_address(channel, emails, mobiles, expected):
    organization(emails=emails, mobiles=mobiles)
    order = make_order(channel, [{"organization_number": ORGNO}])

    order_process(order_id=order.id)

    assert generated(order) == expected


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ("Email", {("email", "a@example.no", "New")}),
        ("Sms", {("sms", "+4799999999", "New")}),
        ("EmailAndSms", {("email", "a@example.no", "New"), ("sms", "+4799999999", "New")}),
        ("EmailPreferred", {("email", "a@example.no", "New")}),
        ("SmsPreferred", {("sms", "+4799999999", "New")}),
    ],
)
def test_recipient_given_by_addresses_uses_them_without_lookup(channel, expected):
    order = make_order(channel, [{"email_address": "a@example.no", "mobile_number": "+4799999999"}])

    order_process(order_id=order.id)

    assert generated(order) == expected


def test_every_notification_keeps_the_recipient_identity_for_reporting():
    person(mobile="+4799315000")
    organization(mobiles=["+4799999991"])
    order = make_order("Sms", [{"national_identity_number": NIN}, {"organization_number": ORGNO}])

    order_process(order_id=order.id)

    rows = {
        n.recipient_position: (
            n.recipient_national_identity_number,
            n.recipient_organization_number,
            n.recipient_name,
        )
        for n in SmsNotification.objects.filter(order=order)
    }
    assert rows == {0: (NIN, None, "Ola Nordmann"), 1: (None, ORGNO, "Testbedrift AS")}


# --- keyword rendering -------------------------------------------------------------------------------


def test_organization_with_two_mobile_numbers_gets_two_personalised_sms():
    organization(mobiles=["+4799999991", "+4799999992"])
    order = make_order(
        "Sms",
        [{"organization_number": ORGNO}],
        sms_body="Hei $recipientName$ ($recipientNumber$)",
        sending_time_policy=SendingTimePolicy.ANYTIME,
    )

    order_process(order_id=order.id)

    bodies = {(n.mobile_number, n.body) for n in SmsNotification.objects.filter(order=order)}
    assert bodies == {
        ("+4799999991", "Hei Testbedrift AS (311000001)"),
        ("+4799999992", "Hei Testbedrift AS (311000001)"),
    }
    order.sms_template.refresh_from_db()
    assert (
        order.sms_template.body == "Hei $recipientName$ ($recipientNumber$)"
    )  # the order stays as registered


def test_person_sms_never_contains_the_national_identity_number():
    person(mobile="+4799315000")
    order = make_order(
        "Sms", [{"national_identity_number": NIN}], sms_body="$recipientName$/$recipientNumber$"
    )

    order_process(order_id=order.id)

    notification = SmsNotification.objects.get(order=order)
    assert notification.body == "Ola Nordmann/"
    assert NIN not in notification.body


def test_keywords_stay_verbatim_and_no_text_is_stored_for_recipients_given_by_address():
    order = make_order("Sms", [{"mobile_number": "+4799999999"}], sms_body="Hei $recipientName$")

    order_process(order_id=order.id)

    notification = SmsNotification.objects.get(order=order)
    assert notification.body is None  # the sender uses the template text, keywords and all


def test_template_without_keywords_stores_no_text_per_notification():
    person(mobile="+4799315000")
    order = make_order("Sms", [{"national_identity_number": NIN}], sms_body="Plain text")

    order_process(order_id=order.id)

    assert SmsNotification.objects.get(order=order).body is None


def test_email_subject_and_body_are_rendered_and_html_values_escaped():
    organization(name="A & B <AS>", emails=["post@ab.no"])
    order = make_order(
        "Email",
        [{"organization_number": ORGNO}],
        email_subject="Til $recipientName$",
        email_body="<p>$recipientName$, org. $recipientNumber$</p>",
        email_content_type="Html",
    )

    order_process(order_id=order.id)

    notification = EmailNotification.objects.get(order=order)
    assert notification.subject == "Til A & B <AS>"
    assert notification.body == "<p>A &amp; B &lt;AS&gt;, org. 311000001</p>"


def test_sms_parts_are_counted_on_the_rendered_text():
    organization(name="Æ" * 150, mobiles=["+4799999991"])
    order = make_order(
        "Sms",
        [{"organization_number": ORGNO}, {"mobile_number": "+4799999999"}],
        sms_body="$recipientName$ €€€€€",
    )

    order_process(order_id=order.id)

    parts = dict(SmsNotification.objects.filter(order=order).values_list("mobile_number", "parts"))
    # 150 + 1 + 5 x 2 septets = 161 > 160: two parts; the verbatim template is 15 + 1 + 10 = 26: one.
    assert parts == {"+4799999991": 2, "+4799999999": 1}


def test_text_with_tabs_newlines_and_backslashes_survives_the_bulk_insert():
    organization(name="Tab\there\\and\nnewline\r", mobiles=["+4799999991"])
    order = make_order("Sms", [{"organization_number": ORGNO}], sms_body="[$recipientName$] \\N")

    order_process(order_id=order.id)

    assert SmsNotification.objects.get(order=order).body == "[Tab\there\\and\nnewline\r] \\N"


# --- expiry and policy on generated rows ------------------------------------------------------------


def test_generated_notifications_carry_expiry_and_sending_time_policy():
    send_time = datetime(2026, 1, 12, 18, 0, tzinfo=UTC)  # 19:00 in Oslo: after the window
    order = make_order(
        "EmailAndSms",
        [{"email_address": "a@example.no", "mobile_number": "+4799999999"}],
        requested_send_time=send_time,
        sending_time_policy=SendingTimePolicy.DAYTIME,
    )

    order_process(order_id=order.id)

    email = EmailNotification.objects.get(order=order)
    sms = SmsNotification.objects.get(order=order)
    assert email.expires_at == send_time + timedelta(hours=48)
    assert sms.expires_at == datetime(2026, 1, 15, 8, 0, tzinfo=UTC)  # that day's 09:00 Oslo + 72 h
    assert sms.sending_time_policy == SendingTimePolicy.DAYTIME
    assert email.status_changed_at == email.created_at


# --- order status moves -------------------------------------------------------------------------------


def test_order_with_notifications_to_send_becomes_processed():
    order = make_order("Sms", [{"mobile_number": "+4799999999"}, {"email_address": "x@example.no"}])

    result = order_process(order_id=order.id)

    assert result.status == OrderStatus.PROCESSED
    assert result.processing_attempts == 1
    assert result.next_attempt_at is None
    assert generated(order) == {("sms", "+4799999999", "New"), ("sms", "", "Failed_RecipientNotIdentified")}


def test_order_whose_notifications_all_failed_at_generation_completes_at_once():
    order = make_order("Sms", [{"email_address": "x@example.no"}])

    assert order_process(order_id=order.id).status == OrderStatus.COMPLETED


def test_processing_twice_changes_nothing():
    order = make_order("Sms", [{"mobile_number": "+4799999999"}])
    first = order_process(order_id=order.id)

    second = order_process(order_id=order.id)

    assert SmsNotification.objects.filter(order=order).count() == 1
    assert (second.status, second.status_changed_at, second.processing_attempts) == (
        first.status,
        first.status_changed_at,
        first.processing_attempts,
    )


def test_order_not_yet_due_is_left_registered_until_its_send_time(time_machine):
    time_machine.move_to(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), tick=False)
    order = make_order(requested_send_time=datetime(2026, 3, 2, 10, 30, tzinfo=UTC))

    assert order_process(order_id=order.id).status == OrderStatus.REGISTERED
    assert orders_process_due() == 0

    time_machine.move_to(datetime(2026, 3, 2, 10, 30, tzinfo=UTC), tick=False)
    assert orders_process_due() == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSED


def test_cancelled_order_is_never_processed():
    order = make_order(status=OrderStatus.CANCELLED)

    assert order_process(order_id=order.id).status == OrderStatus.CANCELLED
    assert orders_process_due() == 0
    assert not SmsNotification.objects.filter(order=order).exists()


@pytest.mark.parametrize(
    "status", [OrderStatus.PROCESSED, OrderStatus.COMPLETED, OrderStatus.SEND_CONDITION_NOT_MET]
)
def test_order_past_processing_is_not_processed_again(status):
    order = make_order(status=status)

    assert order_process(order_id=order.id).status == status
    assert not SmsNotification.objects.filter(order=order).exists()


def test_unknown_order_id_raises_does_not_exist():
    import uuid

    with pytest.raises(Order.DoesNotExist):
        order_process(order_id=uuid.uuid4())


def test_order_of_a_worker_that_died_is_taken_over_after_its_lease(time_machine, settings):
    time_machine.move_to(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), tick=False)
    order = make_order()
    assert order_claim(order_id=order.id) is not None  # claimed, then the worker "dies"

    assert orders_process_due() == 0  # the lease still holds

    time_machine.shift(settings.NOTIFICATIONS_PROCESSING_LEASE + timedelta(seconds=1))
    assert orders_process_due() == 1
    order.refresh_from_db()
    assert (order.status, order.processing_attempts) == (OrderStatus.PROCESSED, 2)
    assert SmsNotification.objects.filter(order=order).count() == 1


def test_a_worker_whose_claim_was_taken_over_writes_nothing(time_machine, settings):
    time_machine.move_to(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), tick=False)
    order = make_order(channel="Email", recipients=[{"email_address": "a@example.no"}])
    slow = order_claim(order_id=order.id)
    time_machine.shift(settings.NOTIFICATIONS_PROCESSING_LEASE + timedelta(seconds=1))
    order_process(order_id=order.id)  # the sweep's worker takes over and finishes
    order.refresh_from_db()
    finished = (order.status, order.status_changed_at, order.processing_attempts)

    order_process_claimed(slow)  # the slow worker wakes up and tries to finish too

    order.refresh_from_db()
    assert (order.status, order.status_changed_at, order.processing_attempts) == finished
    assert EmailNotification.objects.filter(order=order).count() == 1


def test_unique_constraint_refuses_a_second_notification_for_the_same_recipient_and_address():
    order = make_order()
    order_process(order_id=order.id)
    first = SmsNotification.objects.get(order=order)

    with pytest.raises(IntegrityError), transaction.atomic():
        SmsNotification.objects.create(
            order=order,
            recipient_position=first.recipient_position,
            mobile_number=first.mobile_number,
            status_changed_at=timezone.now(),
            expires_at=first.expires_at,
        )


def test_missing_template_for_a_channel_is_noted_and_the_order_still_ends():
    order = make_order("Sms", [{"mobile_number": "+4799999999"}])
    Order.objects.filter(id=order.id).update(sms_template=None)

    result = order_process(order_id=order.id)

    assert result.status == OrderStatus.COMPLETED
    assert "no template" in result.processing_note
    assert not SmsNotification.objects.filter(order=order).exists()


# --- bulk generation ----------------------------------------------------------------------------------


def _queries_to_process(recipients: int, first_nin: int) -> int:
    order = make_order(
        "EmailAndSms",
        [{"national_identity_number": f"{n:011d}"} for n in range(first_nin, first_nin + recipients)],
    )
    Person.objects.bulk_create(
        Person(
            national_identity_number=f"{n:011d}",
            name=f"P{n}",
            mobile_number="+4799999999",
            email_address=f"p{n}@example.no",
        )
        for n in range(first_nin, first_nin + recipients)
    )
    with CaptureQueriesContext(connection) as queries:
        order_process(order_id=order.id)
    assert EmailNotification.objects.filter(order=order).count() == recipients
    assert not [q for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("INSERT")]
    return len(queries.captured_queries)


def test_query_count_does_not_grow_with_recipients_and_rows_are_never_inserted_one_by_one(settings):
    settings.NOTIFICATIONS_PROCESSING_CHUNK_SIZE = 1000

    assert _queries_to_process(3, first_nin=0) == _queries_to_process(300, first_nin=1000)


def test_recipients_are_read_and_looked_up_in_chunks(settings):
    settings.NOTIFICATIONS_PROCESSING_CHUNK_SIZE = 4
    Person.objects.bulk_create(
        # Each its own number: persons sharing one would share one SMS (deduplication).
        Person(national_identity_number=f"{n:011d}", mobile_number=f"+479999990{n}")
        for n in range(10)
    )
    order = make_order("Sms", [{"national_identity_number": f"{n:011d}"} for n in range(10)])

    with CaptureQueriesContext(connection) as queries:
        order_process(order_id=order.id)

    person_lookups = [q for q in queries.captured_queries if '"orders_person"' in q["sql"]]
    assert len(person_lookups) == 3  # 4 + 4 + 2
    assert sorted(
        SmsNotification.objects.filter(order=order).values_list("recipient_position", flat=True)
    ) == list(range(10))


# --- enqueueing after commit --------------------------------------------------------------------------


def test_send_task_is_enqueued_only_after_commit(sent_tasks, django_capture_on_commit_callbacks):
    order = make_order()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        order_process(order_id=order.id)
    assert sent_tasks == []  # nothing published while the transaction could still roll back

    for callback in callbacks:
        callback()
    assert sent_tasks == ["dispatch.notifications_send"]


def test_nothing_is_enqueued_when_every_notification_failed_at_generation(
    sent_tasks, django_capture_on_commit_callbacks
):
    order = make_order("Sms", [{"email_address": "x@example.no"}])

    with django_capture_on_commit_callbacks(execute=True):
        order_process(order_id=order.id)

    assert sent_tasks == []


def test_a_broker_outage_at_enqueue_loses_nothing(monkeypatch, django_capture_on_commit_callbacks):
    from kombu.exceptions import OperationalError

    def broker_down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(celery_app, "send_task", broker_down)
    order = make_order()

    with django_capture_on_commit_callbacks(execute=True):
        result = order_process(order_id=order.id)

    assert result.status == OrderStatus.PROCESSED
    assert SmsNotification.objects.filter(order=order, status="New").count() == 1


def test_sweep_processes_every_due_order_and_reports_how_many():
    orders = [make_order() for _ in range(3)]
    make_order(requested_send_time=timezone.now() + timedelta(hours=1))

    assert orders_process_due() == 3
    assert {o.status for o in Order.objects.filter(id__in=[o.id for o in orders])} == {OrderStatus.PROCESSED}


def test_unexpected_error_keeps_the_order_for_a_later_retry_with_the_reason(monkeypatch):
    order = make_order()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(processing, "_commit", broken)

    with pytest.raises(RuntimeError):
        order_process(order_id=order.id)

    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    assert order.next_attempt_at is not None
    assert order.next_attempt_at > timezone.now()
    assert "disk full" in order.processing_note
    assert not SmsNotification.objects.filter(order=order).exists()


def _sqls(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries]


@pytest.mark.parametrize("callback_url", [None, "https://owner.example.no/callback"])
def test_a_small_order_takes_no_round_trip_it_does_not_need(callback_url):
    """The fast path after registration: the claim is one statement (no transaction around it), the one
    chunk of recipients shorter than the chunk size is the last one read, the callback outbox is asked
    only for an order with a callback URL, and the order is not read again afterwards."""
    order = make_order("Email", [{"email_address": "a@example.no"}], status_callback_url=callback_url)

    with CaptureQueriesContext(connection) as queries:
        assert processing.order_process_if_due(order_id=order.id)

    sqls = _sqls(queries)
    assert sqls[0].lstrip().startswith("UPDATE")  # the claim, not a BEGIN or SAVEPOINT first
    assert len([sql for sql in sqls if '"orders_recipient"' in sql]) == 1
    outbox_asked = [sql for sql in sqls if '"status_callback_url" >' in sql]
    assert bool(outbox_asked) == bool(callback_url)
    assert EmailNotification.objects.get(order=order).to_address == "a@example.no"
    assert Order.objects.get(id=order.id).status == OrderStatus.PROCESSED
    assert not processing.order_process_if_due(order_id=order.id)  # done: nothing to claim


def test_the_fast_path_task_ignores_an_unknown_or_malformed_order_id(caplog):
    from dispatch.tasks.processing import order_process_task

    order_process_task("0b7e8c39-53c5-4f4e-9d0e-6a4c1f1e2a11")
    order_process_task("not-a-uuid")

    assert [r.getMessage() for r in caplog.records if "to process" in r.getMessage()] == [
        "no order not-a-uuid to process"
    ]
