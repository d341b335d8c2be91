"""The notification lists' ETag, 304, gzip and cache: a changed notification always shows."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from orders.api.notification_lists import CACHE_MIN_NOTIFICATIONS
from orders.models import Order, SmsNotification, SmsStatus
from tests.factories import OrderFactory, SmsNotificationFactory
from tests.orders.api.conftest import API

pytestmark = pytest.mark.django_db


def _url(order: Order) -> str:
    return f"{API}/orders/{order.id}/notifications/sms"


def _bulk_order(count: int) -> Order:
    order = OrderFactory()
    now = timezone.now()
    SmsNotification.objects.bulk_create(
        SmsNotification(
            order=order,
            recipient_position=position,
            mobile_number=f"+4799{position:06d}",
            status=SmsStatus.NEW,
            status_changed_at=now,
            expires_at=now + timedelta(hours=48),
        )
        for position in range(count)
    )
    return order


def _decoded(response: Any) -> Any:
    assert response["Content-Encoding"] == "gzip"
    return json.loads(gzip.decompress(response.content))


def test_answer_has_a_weak_etag_and_if_none_match_answers_304(
    api_client: APIClient, django_assert_num_queries: Any
) -> None:
    order = OrderFactory()
    SmsNotificationFactory(order=order)

    first = api_client.get(_url(order))
    etag = first["ETag"]
    with django_assert_num_queries(1):  # the fingerprint only
        again = api_client.get(_url(order), HTTP_IF_NONE_MATCH=etag)
    strong_spelling = api_client.get(_url(order), HTTP_IF_NONE_MATCH=etag.removeprefix("W/"))
    in_a_list = api_client.get(_url(order), HTTP_IF_NONE_MATCH=f'"other", {etag}')
    other_tag = api_client.get(_url(order), HTTP_IF_NONE_MATCH='W/"other"')

    assert first.status_code == 200
    assert etag.startswith('W/"')
    assert etag.endswith('"')
    assert "Accept-Encoding" in first["Vary"]
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    assert strong_spelling.status_code == 304
    assert in_a_list.status_code == 304
    assert other_tag.status_code == 200
    assert other_tag.json() == first.json()


def test_a_status_change_changes_the_etag_and_the_answer(api_client: APIClient) -> None:
    order = OrderFactory()
    notification = SmsNotificationFactory(order=order)
    first = api_client.get(_url(order))

    # The same change time: the row's status alone must change the ETag.
    SmsNotification.objects.filter(id=notification.id).update(status=SmsStatus.DELIVERED)
    after = api_client.get(_url(order), HTTP_IF_NONE_MATCH=first["ETag"])

    assert after.status_code == 200
    assert after["ETag"] != first["ETag"]
    assert after.json()["notifications"][0]["sendStatus"]["status"] == "Delivered"
    assert after.json()["succeeded"] == 1


def test_a_new_notification_changes_the_etag(api_client: APIClient) -> None:
    order = OrderFactory()
    SmsNotificationFactory(order=order, recipient_position=0)
    first = api_client.get(_url(order))
    SmsNotificationFactory(order=order, recipient_position=1)

    after = api_client.get(_url(order), HTTP_IF_NONE_MATCH=first["ETag"])

    assert after.status_code == 200
    assert after.json()["generated"] == 2


def test_gzip_only_for_clients_that_accept_it(api_client: APIClient) -> None:
    order = OrderFactory()
    SmsNotificationFactory(order=order)

    plain = api_client.get(_url(order))
    zipped = api_client.get(_url(order), HTTP_ACCEPT_ENCODING="gzip, deflate")
    refused = api_client.get(_url(order), HTTP_ACCEPT_ENCODING="br")

    assert not plain.has_header("Content-Encoding")
    assert _decoded(zipped) == plain.json()
    assert zipped["Content-Length"] == str(len(zipped.content))
    assert zipped["ETag"] == plain["ETag"]
    assert not refused.has_header("Content-Encoding")


def test_a_large_list_is_served_from_the_cache_until_a_row_changes(
    api_client: APIClient, django_assert_num_queries: Any
) -> None:
    order = _bulk_order(CACHE_MIN_NOTIFICATIONS)
    first = api_client.get(_url(order), HTTP_ACCEPT_ENCODING="gzip")
    body = _decoded(first)
    assert body["generated"] == CACHE_MIN_NOTIFICATIONS
    assert cache.get(f"notification-list:{first['ETag']}") == first.content

    with django_assert_num_queries(1):  # the fingerprint; the rendering comes from the cache
        cached_plain = api_client.get(_url(order))
    assert cached_plain.json() == body
    assert cached_plain["ETag"] == first["ETag"]

    last = SmsNotification.objects.filter(order=order, recipient_position=CACHE_MIN_NOTIFICATIONS - 1)
    last.update(status=SmsStatus.FAILED, status_changed_at=timezone.now())
    changed = api_client.get(_url(order), HTTP_ACCEPT_ENCODING="gzip")

    assert changed["ETag"] != first["ETag"]
    assert _decoded(changed)["notifications"][-1]["sendStatus"]["status"] == "Failed"


def test_another_creators_order_is_404_with_or_without_its_etag(
    api_client: APIClient, other_client: APIClient
) -> None:
    order = OrderFactory()
    SmsNotificationFactory(order=order)
    etag = api_client.get(_url(order))["ETag"]

    plain = other_client.get(_url(order))
    with_etag = other_client.get(_url(order), HTTP_IF_NONE_MATCH=etag)
    star = other_client.get(_url(order), HTTP_IF_NONE_MATCH="*")

    assert (plain.status_code, with_etag.status_code, star.status_code) == (404, 404, 404)
    assert not with_etag.has_header("ETag")


def test_email_and_sms_lists_have_different_etags(api_client: APIClient) -> None:
    order = OrderFactory()

    sms = api_client.get(_url(order))
    email = api_client.get(f"{API}/orders/{order.id}/notifications/email")

    assert sms.status_code == email.status_code == 200
    assert sms["ETag"] != email["ETag"]


@pytest.mark.parametrize(
    "change",
    [
        {"status_changed_at": timezone.now() - timedelta(days=1)},  # earlier: the latest change stays
        {"mobile_number": "+4798765432"},
        {"served_positions": [0, 1]},
        {"status": SmsStatus.ACCEPTED},
    ],
    ids=["change-time", "address", "served-recipients", "status"],
)
def test_any_column_of_the_fingerprint_changes_the_etag(
    api_client: APIClient, change: dict[str, Any]
) -> None:
    order = OrderFactory()
    newest = SmsNotificationFactory(order=order, recipient_position=0)
    changed = SmsNotificationFactory(
        order=order, recipient_position=1, status_changed_at=newest.status_changed_at
    )
    first = api_client.get(_url(order))

    SmsNotification.objects.filter(id=changed.id).update(**change)
    after = api_client.get(_url(order), HTTP_IF_NONE_MATCH=first["ETag"])
    unchanged = api_client.get(_url(order), HTTP_IF_NONE_MATCH=after["ETag"])

    assert after.status_code == 200
    assert after["ETag"] != first["ETag"]
    assert unchanged.status_code == 304


def test_the_fingerprint_does_not_depend_on_the_sessions_time_zone(api_client: APIClient) -> None:
    from django.db import connection

    order = _bulk_order(3)
    etag = api_client.get(_url(order))["ETag"]
    with connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'Europe/Oslo'")
    try:
        again = api_client.get(_url(order))["ETag"]
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")

    assert again == etag
