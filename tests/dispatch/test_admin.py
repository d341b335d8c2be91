"""The notification, delivery attempt and delivery report admins, through the test client per staff group."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.contrib.admin import AdminSite
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils import timezone

from dispatch.admin.dashboard import dashboard_install
from dispatch.models import AttemptOutcome, Channel, DeadReason, DeliveryAttempt, DeliveryReport, ReportState
from orders.audit import AuditAction, AuditEntry, AuditOutcome
from orders.models import EmailNotification, OrderStatus, SmsNotification
from tests.dispatch.sending_support import email_notification, sms_notification
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.orders.admin_support"]  # staff clients of each group

SMS_LIST = reverse("admin:orders_smsnotification_changelist")
EMAIL_LIST = reverse("admin:orders_emailnotification_changelist")
REPORT_LIST = reverse("admin:dispatch_deliveryreport_changelist")
MAX_LIST_QUERIES = 8
NIN = "01017012345"


def sms_url(notification: SmsNotification, name: str = "change") -> str:
    return reverse(f"admin:orders_smsnotification_{name}", args=[notification.id])


def email_url(notification: EmailNotification, name: str = "change") -> str:
    return reverse(f"admin:orders_emailnotification_{name}", args=[notification.id])


def listed(response) -> set[uuid.UUID]:
    return {n.id for n in response.context["cl"].result_list}


def attempt(notification, **kwargs) -> DeliveryAttempt:
    kwargs.setdefault("attempt", 1)
    kwargs.setdefault("provider", "sandbox")
    kwargs.setdefault("outcome", AttemptOutcome.ACCEPTED)
    kwargs.setdefault("status", "Accepted")
    kwargs.setdefault("started_at", timezone.now())
    channel = Channel.EMAIL if isinstance(notification, EmailNotification) else Channel.SMS
    return DeliveryAttempt.objects.create(
        channel=channel, notification_id=notification.id, order_id=notification.order_id, **kwargs
    )


def report(**kwargs) -> DeliveryReport:
    kwargs.setdefault("channel", Channel.SMS)
    kwargs.setdefault("provider", "sandbox")
    kwargs.setdefault("received_at", timezone.now())
    return DeliveryReport.objects.create(**kwargs)


# --- lists: queries, search, filters ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "query"),
    [
        (SMS_LIST, ""),
        (SMS_LIST, "?status=failed"),
        (SMS_LIST, "?status=in_flight&sending_time_policy__exact=Daytime"),
        (SMS_LIST, "?q=%2B4799315000"),
        (SMS_LIST, f"?q={NIN}"),
        (SMS_LIST, "?order__notification_channel__exact=Sms"),
        (EMAIL_LIST, ""),
        (EMAIL_LIST, "?q=someone%40example.no&status=Failed_Bounced"),
        (REPORT_LIST, ""),
        (REPORT_LIST, "?q=sandbox-1"),
        (reverse("admin:dispatch_deliveryattempt_changelist"), ""),
    ],
)
def test_list_pages_take_the_same_few_queries_with_few_or_many_rows(
    support_client, django_assert_max_num_queries, count_queries_of, url, query
):
    def rows(n: int) -> None:
        order = OrderFactory()
        for i in range(n):
            sms = sms_notification(order=order, status="Failed_TTL" if i % 2 else "New")
            email = email_notification(status="Failed_Bounced")
            attempt(sms)
            report(reference=f"sandbox-{uuid.uuid4().hex}", state=ReportState.DEAD, notification_id=email.id)

    rows(2)
    with count_queries_of() as small:
        assert support_client.get(url + query).status_code == 200
    rows(60)
    with django_assert_max_num_queries(MAX_LIST_QUERIES):
        assert support_client.get(url + query).status_code == 200
    with count_queries_of() as large:
        support_client.get(url + query)
    assert len(large.captured_queries) == len(small.captured_queries)


@pytest.mark.parametrize("typed", ["+4799315000", "99315000", "993 15 000", "004799315000"])
def test_an_sms_is_found_by_the_mobile_number_however_it_is_typed(support_client, typed):
    wanted = sms_notification(mobile_number="+4799315000")
    sms_notification(mobile_number="+4799315001")
    assert listed(support_client.get(SMS_LIST, {"q": typed})) == {wanted.id}


def test_notifications_are_found_by_id_order_nin_org_number_provider_reference_and_email(support_client):
    order = OrderFactory(email=True)
    by_nin = email_notification(order=order, recipient_national_identity_number=NIN)
    by_orgno = email_notification(recipient_organization_number="910012345")
    by_reference = email_notification(provider="sandbox", provider_reference="sandbox-abc")
    by_address = email_notification(to_address="Kari@Example.no")
    other = email_notification()
    cases = {
        str(by_orgno.id): {by_orgno.id},
        str(order.id): {by_nin.id},
        NIN: {by_nin.id},
        "910012345": {by_orgno.id},
        "sandbox-abc": {by_reference.id},
        "kari@example.no": {by_address.id},
    }
    for term, expected in cases.items():
        found = listed(support_client.get(EMAIL_LIST, {"q": term}))
        assert found == expected, term
        assert other.id not in found


def test_status_filters_has_failed_and_still_in_flight(support_client):
    new = sms_notification(status="New")
    accepted = sms_notification(status="Accepted")
    failed = sms_notification(status="Failed_Undelivered")
    delivered = sms_notification(status="Delivered")
    assert listed(support_client.get(SMS_LIST, {"status": "failed"})) == {failed.id}
    assert listed(support_client.get(SMS_LIST, {"status": "in_flight"})) == {new.id, accepted.id}
    assert listed(support_client.get(SMS_LIST, {"status": "Delivered"})) == {delivered.id}


def test_notification_list_masks_the_nin(operator_client):
    sms_notification(recipient_national_identity_number=NIN)
    page = operator_client.get(SMS_LIST).content.decode()
    assert NIN not in page
    assert "********345" in page


# --- detail page -------------------------------------------------------------------------------------------


def test_notification_page_shows_text_attempts_with_raw_answers_and_reports(support_client):
    order = OrderFactory(email=True)
    order.email_template.subject = "Your $recipientName$ letter"
    order.email_template.save()
    notification = email_notification(
        order=order, status="Failed_Bounced", body="Hello Kari", provider="sandbox", provider_reference="sb-1"
    )
    attempt(
        notification,
        outcome=AttemptOutcome.TRANSIENT,
        status="New",
        error="421 try later",
        raw_response="421 4.7.0 greylisted",
    )
    attempt(notification, attempt=2, provider_reference="sb-1", raw_response="250 2.0.0 queued as sb-1")
    report(channel=Channel.EMAIL, reference="sb-1", provider_status="bounced", mapped_status="Failed_Bounced")

    page = support_client.get(email_url(notification)).content.decode()

    for text in (
        "Hello Kari",
        "Your $recipientName$ letter",
        "421 4.7.0 greylisted",
        "250 2.0.0 queued as sb-1",
        "421 try later",
        "bounced",
        "Failed_Bounced",
    ):
        assert text in page, text


def test_notification_page_shows_the_nin_only_to_users_with_the_permission(support_client, operator_client):
    notification = sms_notification(recipient_national_identity_number=NIN)
    assert NIN not in support_client.get(sms_url(notification)).content.decode()
    assert NIN in operator_client.get(sms_url(notification)).content.decode()


# --- retry -------------------------------------------------------------------------------------------------


def test_operator_finds_a_failed_sms_by_number_sees_why_and_retries_it(operator_client, operator):
    notification = sms_notification(
        mobile_number="+4799315000",
        status="Failed_TTL",
        last_error="no delivery report before expiry",
        attempts=3,
    )
    found = operator_client.get(SMS_LIST, {"q": "99315000", "status": "failed"})
    assert listed(found) == {notification.id}
    page = operator_client.get(sms_url(notification)).content.decode()
    assert "no delivery report before expiry" in page
    assert sms_url(notification, "retry") in page

    response = operator_client.post(sms_url(notification, "retry"), follow=True)

    notification.refresh_from_db()
    assert notification.status == "New"
    assert notification.attempts == 0
    assert f"Notification {notification.id} was re-queued for sending." in response.content.decode()
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.outcome, entry.target_id) == (
        operator,
        AuditAction.NOTIFICATION_RETRY,
        AuditOutcome.DONE,
        str(notification.id),
    )
    assert "Notification retry" in operator_client.get(sms_url(notification)).content.decode()


def test_retrying_a_delivered_notification_is_refused_with_a_message(operator_client):
    notification = sms_notification(status="Delivered")
    assert sms_url(notification, "retry") not in operator_client.get(sms_url(notification)).content.decode()
    response = operator_client.post(sms_url(notification, "retry"), follow=True)
    assert "it has not failed (status Delivered)" in response.content.decode()
    notification.refresh_from_db()
    assert notification.status == "Delivered"
    assert AuditEntry.objects.get().outcome == AuditOutcome.REFUSED


def test_retry_selected_retries_the_failed_ones_and_reports_the_rest(operator_client):
    failed = [sms_notification(status="Failed_TTL"), sms_notification(status="Failed")]
    delivered = sms_notification(status="Delivered")
    response = operator_client.post(
        SMS_LIST,
        {"action": "retry_selected", "_selected_action": [str(n.id) for n in [*failed, delivered]]},
        follow=True,
    )
    page = response.content.decode()
    assert "Re-queued 2 notification(s) for sending." in page
    assert "Not retried, it has not failed (status Delivered): 1 notification(s)." in page
    statuses = dict(SmsNotification.objects.values_list("id", "status"))
    assert statuses == {failed[0].id: "New", failed[1].id: "New", delivered.id: "Delivered"}


def test_support_may_not_retry(support_client):
    notification = sms_notification(status="Failed_TTL")
    assert sms_url(notification, "retry") not in support_client.get(sms_url(notification)).content.decode()
    assert support_client.post(sms_url(notification, "retry")).status_code == 403
    support_client.post(SMS_LIST, {"action": "retry_selected", "_selected_action": [str(notification.id)]})
    notification.refresh_from_db()
    assert notification.status == "Failed_TTL"
    assert not AuditEntry.objects.exists()


def test_retry_endpoints_answer_only_post(operator_client):
    notification = sms_notification(status="Failed_TTL")
    assert operator_client.get(sms_url(notification, "retry")).status_code == 405
    notification.refresh_from_db()
    assert notification.status == "Failed_TTL"


def test_operator_retries_all_failed_notifications_of_an_order(operator_client):
    order = OrderFactory(status=OrderStatus.COMPLETED)
    failed = [sms_notification(order=order, status="Failed_Undelivered") for _ in range(3)]
    delivered = sms_notification(order=order, status="Delivered")
    order_page = reverse("admin:orders_order_change", args=[order.id])
    retry = reverse("admin:orders_order_retry", args=[order.id])
    assert retry in operator_client.get(order_page).content.decode()

    response = operator_client.post(retry, follow=True)

    assert f"Order {order.id}: Re-queued 3 notification(s) for sending." in response.content.decode()
    assert set(SmsNotification.objects.filter(status="New").values_list("id", flat=True)) == {
        n.id for n in failed
    }
    assert SmsNotification.objects.get(id=delivered.id).status == "Delivered"
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSED
    assert AuditEntry.objects.filter(outcome=AuditOutcome.DONE).count() == 3


def test_order_retry_button_is_hidden_without_failures_or_permission(operator_client, support_client):
    order = OrderFactory(status=OrderStatus.PROCESSED)
    sms_notification(order=order, status="Delivered")
    order_page = reverse("admin:orders_order_change", args=[order.id])
    retry = reverse("admin:orders_order_retry", args=[order.id])
    assert retry not in operator_client.get(order_page).content.decode()
    sms_notification(order=order, status="Failed_TTL")
    assert retry not in support_client.get(order_page).content.decode()
    assert support_client.post(retry).status_code == 403


# --- delivery reports --------------------------------------------------------------------------------------


def test_report_list_opens_on_dead_reports(support_client):
    dead = report(reference="r-dead", state=ReportState.DEAD, reason=DeadReason.RETRY_THRESHOLD_EXCEEDED)
    report(reference="r-applied", state=ReportState.APPLIED)
    assert {r.id for r in support_client.get(REPORT_LIST).context["cl"].result_list} == {dead.id}
    assert len(support_client.get(REPORT_LIST, {"state": "all"}).context["cl"].result_list) == 2


def test_operator_reapplies_a_dead_report_once_its_notification_exists(operator_client, operator):
    notification = sms_notification(status="Accepted", provider="sandbox", provider_reference="sandbox-late")
    dead = report(
        reference="sandbox-late",
        provider_status="DELIVRD",
        mapped_status="Delivered",
        state=ReportState.DEAD,
        reason=DeadReason.RETRY_THRESHOLD_EXCEEDED,
        attempts=5,
    )
    page_url = reverse("admin:dispatch_deliveryreport_change", args=[dead.id])
    reapply = reverse("admin:dispatch_deliveryreport_reapply", args=[dead.id])
    assert reapply in operator_client.get(page_url).content.decode()

    response = operator_client.post(reapply, follow=True)

    assert f"Report {dead.id} was applied (applied)." in response.content.decode()
    notification.refresh_from_db()
    assert notification.status == "Delivered"
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.outcome) == (
        operator,
        AuditAction.REPORT_REAPPLY,
        AuditOutcome.DONE,
    )


def test_reapplying_a_report_that_still_cannot_apply_says_so(operator_client):
    dead = report(reference="nobody", mapped_status="Delivered", state=ReportState.DEAD)
    response = operator_client.post(
        REPORT_LIST, {"action": "reapply_selected", "_selected_action": [dead.id]}, follow=True
    )
    assert "1 report(s) could still not be applied." in response.content.decode()
    dead.refresh_from_db()
    assert dead.state in (ReportState.PENDING, ReportState.DEAD)
    assert AuditEntry.objects.get().outcome == AuditOutcome.FAILED


def test_support_may_not_reapply(support_client):
    dead = report(reference="x", mapped_status="Delivered", state=ReportState.DEAD)
    reapply = reverse("admin:dispatch_deliveryreport_reapply", args=[dead.id])
    assert (
        reapply
        not in support_client.get(
            reverse("admin:dispatch_deliveryreport_change", args=[dead.id])
        ).content.decode()
    )
    assert support_client.post(reapply).status_code == 403
    dead.refresh_from_db()
    assert dead.attempts == 0


# --- the dashboard -----------------------------------------------------------------------------------------


@pytest.fixture
def no_dashboard_cache(settings) -> None:
    settings.NOTIFICATIONS_DASHBOARD_CACHE_SECONDS = 0


@pytest.mark.usefixtures("no_dashboard_cache")
def test_dashboard_shows_counts_backlog_and_failure_rates_as_inline_svg(support_client, settings):
    settings.NOTIFICATIONS_SMS_SEND_WINDOW = "anytime"
    nav = OrderFactory(creator="nav")
    for status in ("Delivered", "Delivered", "Failed_Undelivered", "New"):
        sms_notification(order=nav, status=status)
    email_notification(status="Sending")
    old = sms_notification(status="Delivered")
    SmsNotification.objects.filter(id=old.id).update(created_at=timezone.now() - timedelta(days=40))

    response = support_client.get(reverse("admin:index"))

    page = response.content.decode()
    assert response.status_code == 200
    dashboard = response.context["dashboard"]
    last_day = {c.channel: c for c in dashboard.windows[0].channels}
    assert last_day["SMS"].total == 4
    assert {s.status: s.count for s in last_day["SMS"].statuses} == {
        "Delivered": 2,
        "Failed_Undelivered": 1,
        "New": 1,
    }
    assert last_day["Email"].total == 1
    assert (dashboard.backlog.sms_new, dashboard.backlog.email_sending) == (1, 1)
    rates = {r.creator: (r.failed, r.total) for r in dashboard.failure_rates}
    assert rates["nav"] == (1, 4)
    assert page.count("<svg viewBox=") == 9  # 2 windows x 2 channels x 2 charts, and the failure rates
    assert "25.0% (1 of 4)" in page
    assert "<script" not in page.split('id="content-main"')[1]
    assert "http" not in "".join(line for line in page.splitlines() if "<svg" in line and "xmlns" not in line)


@pytest.mark.usefixtures("no_dashboard_cache")
def test_dashboard_counts_daytime_sms_as_waiting_only_while_the_window_is_closed(support_client, settings):
    sms_notification(status="New", sending_time_policy="Daytime")
    settings.NOTIFICATIONS_SMS_SEND_WINDOW = "00:00-00:01"
    closed = support_client.get(reverse("admin:index")).context["dashboard"].backlog
    settings.NOTIFICATIONS_SMS_SEND_WINDOW = "anytime"
    open_ = support_client.get(reverse("admin:index")).context["dashboard"].backlog
    assert (closed.sms_daytime_new, open_.sms_waiting_for_window) == (1, 0)
    assert closed.sms_waiting_for_window == 1 or closed.window_open


@pytest.mark.usefixtures("no_dashboard_cache")
def test_dashboard_takes_the_same_queries_with_few_or_many_notifications(support_client, count_queries_of):
    sms_notification()
    with count_queries_of() as small:
        support_client.get(reverse("admin:index"))
    for creator in ("a", "b", "c"):
        order = OrderFactory(creator=creator)
        for _ in range(10):
            sms_notification(order=order, status="Delivered")
            email_notification(status="Failed_Bounced")
    with count_queries_of() as large:
        support_client.get(reverse("admin:index"))
    assert len(large.captured_queries) == len(small.captured_queries) <= 12


def test_dashboard_is_left_out_for_staff_who_may_not_view_notifications(staff_without_group_client):
    response = staff_without_group_client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert "dashboard" not in response.context
    assert "Backlog now" not in response.content.decode()


def test_the_index_is_the_dashboard_page_for_all_staff_with_the_app_list_and_no_recent_actions(
    support_client, staff_without_group_client
):
    for client in (support_client, staff_without_group_client):
        response = client.get(reverse("admin:index"))
        assert "admin/dispatch/dashboard.html" in [template.name for template in response.templates]
        page = response.content.decode()
        assert '<div class="ops-apps">' in page
        assert "recent-actions-module" not in page


def test_the_dashboard_goes_only_on_the_masking_site():
    with pytest.raises(ImproperlyConfigured):
        dashboard_install(AdminSite(name="plain"))
