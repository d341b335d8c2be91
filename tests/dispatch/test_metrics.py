"""``GET /metrics``: who may read it, and what it says after real sends, reports and callbacks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from dispatch.models import ProviderHealth, ProviderState
from dispatch.prometheus import CACHE_KEY
from dispatch.services.metric_counters import counters_add, labels_text
from dispatch.services.sending import notifications_send
from orders.models import OrderStatus, SmsStatus
from tests.dispatch.sending_support import fresh_providers, sms_notification
from tests.factories import OrderFactory
from tests.orders.admin_support import staff_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_providers")]
__all__ = ["fresh_providers"]
TOKEN = "metrics-token-for-tests"


@pytest.fixture(autouse=True)
def _metrics_settings(settings) -> Iterator[None]:
    settings.NOTIFICATIONS_METRICS_TOKEN = TOKEN
    settings.NOTIFICATIONS_METRICS_CACHE_SECONDS = 0
    cache.delete(CACHE_KEY)
    yield
    cache.delete(CACHE_KEY)


def scrape(client: Client | None = None) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, by (sample name, sorted labels)."""
    response = (client or Client()).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# --- access -------------------------------------------------------------------------------------------


def test_without_credentials_the_answer_is_a_401_problem_asking_for_a_bearer_token():
    response = Client().get("/metrics")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'


def test_a_wrong_token_is_refused_and_the_right_one_admitted():
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer nope").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_no_token_is_accepted_when_none_is_configured(settings):
    settings.NOTIFICATIONS_METRICS_TOKEN = None
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_a_staff_session_may_read_and_a_non_staff_user_may_not():
    staff = Client()
    staff.force_login(staff_user("watcher"))
    assert staff.get("/metrics").status_code == 200

    other = Client()
    other.force_login(User.objects.create_user(username="citizen", password="x"))
    response = other.get("/metrics")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"


# --- content ------------------------------------------------------------------------------------------


def test_counts_by_channel_and_status_and_the_backlog_come_from_the_database():
    order = OrderFactory(status=OrderStatus.PROCESSED)
    for status in (SmsStatus.DELIVERED, SmsStatus.DELIVERED, SmsStatus.NEW, SmsStatus.FAILED_TTL):
        sms_notification(order=order, status=status)
    OrderFactory(requested_send_time=order.created_at)  # Registered and due

    samples = scrape()

    assert value(samples, "notifications_last_24h", channel="Sms", status="Delivered") == 2
    assert value(samples, "notifications_last_24h", channel="Sms", status="Failed_TTL") == 1
    assert value(samples, "notifications_backlog", channel="Sms", state="new") == 1
    assert value(samples, "notifications_backlog", channel="Email", state="new") == 0
    assert value(samples, "orders_backlog", status="due") == 1


def test_sends_are_counted_with_their_latency_and_provider_errors_by_kind():
    order = OrderFactory(status=OrderStatus.PROCESSED)
    for _ in range(3):
        sms_notification(order=order)
    sms_notification(order=order, mobile_number="+4799000001")  # the sandbox refuses it

    notifications_send(channel="Sms")
    samples = scrape()

    assert value(samples, "notifications_sent_total", channel="Sms", provider="sandbox") == 3
    assert (
        value(
            samples,
            "notifications_provider_errors_total",
            channel="Sms",
            provider="sandbox",
            outcome="permanent",
        )
        == 1
    )
    count = value(samples, "notifications_send_latency_seconds_count", channel="Sms", provider="sandbox")
    assert count == 3
    sum_key = ("notifications_send_latency_seconds_sum", (("channel", "Sms"), ("provider", "sandbox")))
    assert sum_key in samples
    buckets = sorted(
        (float(dict(labels)["le"]), number)
        for (name, labels), number in samples.items()
        if name == "notifications_send_latency_seconds_bucket"
    )
    assert buckets[-1] == (float("inf"), 3)
    assert [n for _, n in buckets] == sorted(n for _, n in buckets)  # cumulative
    calls = value(samples, "notifications_provider_call_seconds_count", channel="Sms", provider="sandbox")
    assert calls == 4


def test_counters_add_up_across_calls_as_every_worker_adds_to_the_same_rows():
    key = ("notifications_callbacks_total", labels_text(result="delivered"))
    counters_add({key: 2})
    counters_add({key: 3})
    assert value(scrape(), "notifications_callbacks_total", result="delivered") == 5


def test_each_sms_providers_health_is_a_state_gauge(settings):
    settings.NOTIFICATIONS_SMS_PROVIDERS = [("smpp", 1), ("twilio", 1)]
    from django.utils import timezone

    ProviderHealth.objects.create(key="Sms:twilio", state=ProviderState.DOWN, changed_at=timezone.now())
    samples = scrape()
    assert value(samples, "notifications_sms_provider_state", provider="twilio", state="down") == 1
    assert value(samples, "notifications_sms_provider_state", provider="twilio", state="healthy") == 0
    assert value(samples, "notifications_sms_provider_state", provider="smpp", state="healthy") == 1


def test_database_numbers_are_reused_within_the_cache_time(settings):
    settings.NOTIFICATIONS_METRICS_CACHE_SECONDS = 60
    order = OrderFactory(status=OrderStatus.PROCESSED)
    sms_notification(order=order, status=SmsStatus.NEW)
    assert value(scrape(), "notifications_backlog", channel="Sms", state="new") == 1
    sms_notification(order=order, status=SmsStatus.NEW)
    assert value(scrape(), "notifications_backlog", channel="Sms", state="new") == 1
    cache.delete(CACHE_KEY)
    assert value(scrape(), "notifications_backlog", channel="Sms", state="new") == 2


def test_a_scrape_costs_the_same_few_queries_however_many_rows(django_assert_max_num_queries):
    order = OrderFactory(status=OrderStatus.PROCESSED)
    for _ in range(30):
        sms_notification(order=order, status=SmsStatus.DELIVERED)
    with django_assert_max_num_queries(6):
        scrape()
