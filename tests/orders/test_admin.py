"""The order admin and the audit log, through the test client as staff of each group."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.admin.base import CappedCountPaginator
from core.masking import mask_nin
from orders.admin.search import search_term_parse
from orders.audit import AuditAction, AuditEntry, AuditOutcome
from orders.models import Order, OrderStatus
from tests.factories import (
    EmailNotificationFactory,
    OrderFactory,
    RecipientFactory,
    SmsNotificationFactory,
)

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.orders.admin_support"]  # staff clients of each group

ORDER_LIST = reverse("admin:orders_order_changelist")
MAX_LIST_QUERIES = 8


def order_url(order: Order, name: str = "change") -> str:
    return reverse(f"admin:orders_order_{name}", args=[order.id])


def orders(n: int, **kwargs) -> list[Order]:
    return [OrderFactory(**kwargs) for _ in range(n)]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?q=ref-1",
        "?q=01019012345",
        "?status__exact=Registered",
        "?creator=ttd&notification_channel__exact=Sms",
        "?created_at__gte=2020-01-01+00%3A00%3A00%2B00%3A00",
    ],
)
def test_order_list_takes_the_same_few_queries_with_few_or_many_orders(
    support_client, django_assert_max_num_queries, query, count_queries_of
):
    orders(2)
    with count_queries_of() as small:
        assert support_client.get(ORDER_LIST + query).status_code == 200
    orders(60, creator="nav")
    with django_assert_max_num_queries(MAX_LIST_QUERIES):
        response = support_client.get(ORDER_LIST + query)
    assert response.status_code == 200
    with count_queries_of() as large:
        support_client.get(ORDER_LIST + query)
    assert len(large.captured_queries) == len(small.captured_queries)


def test_order_list_never_counts_the_whole_table(support_client, count_queries_of):
    orders(3)
    with count_queries_of() as context:
        support_client.get(ORDER_LIST)
    counts = [q["sql"] for q in context.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts, "the paginator counts (a capped count)"
    assert all("LIMIT" in sql.upper() for sql in counts), counts


def test_a_capped_count_reads_as_more_than_the_cap(support_client, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "cap", 5)
    orders(7)
    response = support_client.get(ORDER_LIST)
    assert "5+ orders" in " ".join(response.content.decode().split())


def test_a_count_at_the_cap_is_exact(support_client, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "cap", 5)
    orders(5)
    response = support_client.get(ORDER_LIST)
    text = " ".join(response.content.decode().split())
    assert "5 orders" in text
    assert "5+ orders" not in text


def test_order_search_finds_by_id_reference_creator_and_recipient_identifiers(support_client):
    target = OrderFactory(senders_reference="invoice-77", creator="skd")
    RecipientFactory(order=target, national_identity_number="01019012345", mobile_number=None)
    RecipientFactory(order=target, organization_number="910012345", mobile_number=None)
    other = OrderFactory(senders_reference="other", creator="nav")
    for term in [str(target.id), "invoice-77", "skd", "01019012345", "910012345"]:
        page = support_client.get(ORDER_LIST, {"q": term}).content.decode()
        assert str(target.id) in page, term
        assert str(other.id) not in page, term


def test_creator_filter_offers_each_creator_once(support_client):
    orders(3, creator="ttd")
    orders(2, creator="nav")
    response = support_client.get(ORDER_LIST)
    choices = [title for title, _ in response.context["cl"].filter_specs[2].lookup_choices]
    assert choices == ["nav", "ttd"]


def test_order_page_shows_texts_recipients_lookup_and_counts_per_status(support_client):
    order = OrderFactory(
        status=OrderStatus.PROCESSED,
        recipient_lookup={"status": "PartialSuccess", "isReserved": [], "missingContact": ["01019012345"]},
    )
    order.sms_template.body = "Your tax return is ready"
    order.sms_template.save()
    RecipientFactory(order=order, mobile_number="+4791234567")
    SmsNotificationFactory.create_batch(2, order=order, status="Delivered")
    SmsNotificationFactory(order=order, status="Failed_TTL")
    page = support_client.get(order_url(order)).content.decode()
    assert "Your tax return is ready" in page
    assert "+4791234567" in page
    assert "PartialSuccess" in page
    assert f"q={order.id}&amp;status=Delivered" in page
    counts = {row: page.count(row) for row in (">Delivered</a></td><td>2<", ">Failed_TTL</a></td><td>1<")}
    assert counts == {">Delivered</a></td><td>2<": 1, ">Failed_TTL</a></td><td>1<": 1}


def test_recipient_nin_is_masked_for_support_and_shown_to_operators(support_client, operator_client):
    order = OrderFactory(
        recipient_lookup={"status": "Failed", "isReserved": ["01019012345"], "missingContact": ["910012345"]}
    )
    RecipientFactory(order=order, national_identity_number="01019012345", mobile_number=None)
    assert "01019012345" not in support_client.get(order_url(order)).content.decode()
    assert mask_nin("01019012345") in support_client.get(order_url(order)).content.decode()
    assert "910012345" in support_client.get(order_url(order)).content.decode()
    assert "01019012345" in operator_client.get(order_url(order)).content.decode()


def test_operator_cancels_a_registered_order_and_it_is_audited(operator_client, operator):
    order = OrderFactory(requested_send_time=timezone.now() + timedelta(hours=2))
    page = operator_client.get(order_url(order)).content.decode()
    assert order_url(order, "cancel") in page

    response = operator_client.post(order_url(order, "cancel"), follow=True)

    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert f"Order {order.id} was cancelled." in response.content.decode()
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.outcome, entry.target_id) == (
        operator,
        AuditAction.ORDER_CANCEL,
        AuditOutcome.DONE,
        str(order.id),
    )


def test_cancelling_an_order_due_within_five_minutes_is_refused_and_audited(operator_client):
    order = OrderFactory(requested_send_time=timezone.now() + timedelta(minutes=2))
    response = operator_client.post(order_url(order, "cancel"), follow=True)
    order.refresh_from_db()
    assert order.status == OrderStatus.REGISTERED
    assert "was not cancelled" in response.content.decode()
    assert AuditEntry.objects.get().outcome == AuditOutcome.REFUSED


def test_cancel_action_cancels_only_the_registered_orders_of_a_selection(operator_client):
    due_later = OrderFactory(requested_send_time=timezone.now() + timedelta(days=1))
    processed = OrderFactory(status=OrderStatus.PROCESSED)
    untouched = OrderFactory(requested_send_time=timezone.now() + timedelta(days=1))
    response = operator_client.post(
        ORDER_LIST,
        {"action": "cancel_orders", "_selected_action": [str(due_later.id), str(processed.id)]},
        follow=True,
    )
    statuses = {o.id: o.status for o in Order.objects.all()}
    assert statuses == {
        due_later.id: OrderStatus.CANCELLED,
        processed.id: OrderStatus.PROCESSED,
        untouched.id: OrderStatus.REGISTERED,
    }
    assert "Cancelled 1 order(s)." in response.content.decode()
    assert sorted(AuditEntry.objects.values_list("outcome", flat=True)) == ["done", "refused"]


def test_support_may_not_cancel(support_client):
    order = OrderFactory(requested_send_time=timezone.now() + timedelta(hours=2))
    assert order_url(order, "cancel") not in support_client.get(order_url(order)).content.decode()
    assert support_client.post(order_url(order, "cancel")).status_code == 403
    response = support_client.post(
        ORDER_LIST, {"action": "cancel_orders", "_selected_action": [str(order.id)]}
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.REGISTERED
    assert response.status_code in (200, 302)
    assert not AuditEntry.objects.exists()


def test_orders_are_read_only_even_for_a_superuser(superuser_client):
    order = OrderFactory()
    assert superuser_client.get(reverse("admin:orders_order_add")).status_code == 403
    assert superuser_client.post(order_url(order), {"creator": "evil"}).status_code == 403
    assert superuser_client.post(order_url(order, "delete"), {"post": "yes"}).status_code == 403
    order.refresh_from_db()
    assert order.creator == "ttd"


def test_staff_without_a_group_sees_nothing(staff_without_group_client):
    order = OrderFactory()
    assert staff_without_group_client.get(ORDER_LIST).status_code == 403
    assert staff_without_group_client.get(order_url(order)).status_code == 403


def test_users_who_are_not_staff_are_sent_to_the_login_page(client, django_user_model):
    user = django_user_model.objects.create_user(username="citizen", password="x")
    client.force_login(user)
    response = client.get(ORDER_LIST)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


# --- the audit log -------------------------------------------------------------------------------------


def test_audit_log_is_visible_to_support_and_never_editable(support_client, superuser_client, operator):
    order = OrderFactory(requested_send_time=timezone.now() + timedelta(hours=2))
    from orders.audit import audit_record

    entry = audit_record(
        actor=operator, action=AuditAction.ORDER_CANCEL, outcome=AuditOutcome.DONE, target=order
    )
    log = reverse("admin:orders_auditentry_changelist")
    page = support_client.get(log).content.decode()
    assert "otto-operator" in page
    assert order_url(order) in page
    change = reverse("admin:orders_auditentry_change", args=[entry.pk])
    for client in (support_client, superuser_client):
        assert client.get(reverse("admin:orders_auditentry_add")).status_code == 403
        assert client.post(change, {"outcome": "refused"}).status_code == 403
        assert (
            client.post(
                reverse("admin:orders_auditentry_delete", args=[entry.pk]), {"post": "yes"}
            ).status_code
            == 403
        )
    entry.refresh_from_db()
    assert entry.outcome == AuditOutcome.DONE


def test_audit_log_is_searched_by_target_or_username(support_client, operator):
    from orders.audit import audit_record

    first, second = OrderFactory(), OrderFactory()
    audit_record(actor=operator, action=AuditAction.ORDER_CANCEL, outcome=AuditOutcome.DONE, target=first)
    audit_record(actor=None, action=AuditAction.ORDER_CANCEL, outcome=AuditOutcome.DONE, target=second)
    log = reverse("admin:orders_auditentry_changelist")
    assert support_client.get(log, {"q": str(first.id)}).context["cl"].result_count == 1
    assert support_client.get(log, {"q": "otto-operator"}).context["cl"].result_count == 1


# --- helpers -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "mobiles"),
    [
        ("99999999", ("99999999", "+4799999999")),
        ("+47 999 99 999", ("+4799999999",)),
        ("004799999999", ("004799999999", "+4799999999")),
        ("ref-1", ()),
    ],
)
def test_search_terms_become_the_mobile_numbers_they_can_be(text, mobiles):
    assert search_term_parse(text).mobile_numbers == mobiles


def test_search_terms_are_recognised_by_shape():
    assert search_term_parse("01019012345").nin == "01019012345"
    assert search_term_parse("910012345").organization_number == "910012345"
    assert search_term_parse("Kari@Example.no").email_addresses == ("Kari@Example.no", "kari@example.no")
    notification = EmailNotificationFactory()
    assert search_term_parse(f" {notification.id} ").uuid == notification.id


def test_ensure_groups_is_idempotent_and_resets_permissions_changed_by_hand(groups):
    from django.contrib.auth.models import Group, Permission
    from django.core.management import call_command

    support_group = Group.objects.get(name="support")
    support_group.permissions.add(Permission.objects.get(codename="cancel_order"))
    call_command("ensure_groups", verbosity=0)
    support_perms = set(support_group.permissions.values_list("codename", flat=True))
    operator_perms = set(Group.objects.get(name="operator").permissions.values_list("codename", flat=True))
    assert "cancel_order" not in support_perms
    assert all(code.startswith("view_") and code != "view_full_nin" for code in support_perms)
    assert {
        "cancel_order",
        "retry_smsnotification",
        "retry_emailnotification",
        "view_full_nin",
    } <= operator_perms
    assert support_perms < operator_perms
    assert Group.objects.filter(name__in=["support", "operator"]).count() == 2


def test_order_page_shows_a_recipient_by_external_identity(support_client):
    order = OrderFactory(status=OrderStatus.PROCESSED)
    RecipientFactory(
        order=order, mobile_number=None, external_identity="urn:altinn:person:legacy-selfidentified:ola"
    )
    page = support_client.get(order_url(order)).content.decode()
    assert "External identity" in page
    assert "urn:altinn:person:legacy-selfidentified:ola" in page
