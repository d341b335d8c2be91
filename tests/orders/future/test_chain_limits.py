"""Send times and reminders the client sets are bounded: far-future times, delays and long reminder lists
are 400s naming the field, never an OverflowError or a worker timeout."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from django.utils import timezone as django_timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from orders.models import Order, OrderChain
from tests.orders.api.conftest import API
from tests.orders.future.conftest import FUTURE, post_future

pytestmark = pytest.mark.django_db

SMS = {"recipientSms": {"phoneNumber": "+4799999999", "smsSettings": {"body": "Hei"}}}
AHEAD = "The send time must be at most 3650 days from now."
REMINDER_AHEAD = "The reminder's send time (the send time plus DelayDays) must be at most 3650 days from now."

# Any instant with any offset, from the first to the last that datetime holds.
send_times = st.builds(
    lambda moment, minutes: moment.replace(tzinfo=timezone(timedelta(minutes=minutes))),
    # Naive bounds, as hypothesis wants; the offset is added after.
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),  # noqa: DTZ001
    st.integers(-23 * 60, 23 * 60),
).map(lambda moment: moment.isoformat())
_PROPERTY = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _chain(**fields: Any) -> dict[str, Any]:
    return {"idempotencyId": str(uuid.uuid4()), "recipient": SMS, **fields}


def test_the_reported_far_future_chain_with_a_reminder_is_a_400(api_client: APIClient) -> None:
    """9999-12-31T23:59:59Z plus one day was an OverflowError, a 500."""
    body = _chain(requestedSendTime="9999-12-31T23:59:59Z", reminders=[{"delayDays": 1, "recipient": SMS}])

    response = post_future(api_client, "/orders", body)

    assert response.status_code == 400
    assert response.json()["errors"] == {"requestedSendTime": [AHEAD]}


@_PROPERTY
@given(
    main=st.one_of(st.none(), send_times),
    reminder_time=send_times,
    delay=st.integers(1, 3650),
    by_delay=st.booleans(),
)
def test_any_send_time_and_delay_is_accepted_or_a_400_naming_the_field(
    api_client: APIClient, published: Any, main: str | None, reminder_time: str, delay: int, by_delay: bool
) -> None:
    reminder: dict[str, Any] = {"recipient": SMS}
    reminder.update({"delayDays": delay} if by_delay else {"requestedSendTime": reminder_time})
    body = _chain(reminders=[reminder], **({"requestedSendTime": main} if main else {}))

    response = post_future(api_client, "/orders", body)

    assert response.status_code in (201, 400), response.content
    latest = django_timezone.now() + timedelta(days=3650)
    main_time = datetime.fromisoformat(main) if main else django_timezone.now()
    if response.status_code == 201:
        for order in Order.objects.filter(chain_id=response.json()["notificationOrderId"]):
            assert order.requested_send_time <= latest + timedelta(seconds=5)
        return
    errors = response.json()["errors"]
    assert set(errors) <= {"requestedSendTime", "reminders[0].requestedSendTime", "reminders[0].delayDays"}
    if main is not None and main_time > latest:
        assert errors["requestedSendTime"] == [AHEAD]
    elif by_delay and main_time >= django_timezone.now():
        assert errors == {"reminders[0].delayDays": [REMINDER_AHEAD]}
    if not by_delay and datetime.fromisoformat(reminder_time) > latest:
        assert errors["reminders[0].requestedSendTime"] == [AHEAD]


@_PROPERTY
@given(send_time=send_times)
def test_any_v1_send_time_is_accepted_or_a_400_naming_it(
    api_client: APIClient, published: Any, send_time: str
) -> None:
    body = {
        "requestedSendTime": send_time,
        "body": "Hei",
        "recipients": [{"mobileNumber": "+4799999999"}],
    }

    response = api_client.post(f"{API}/orders/sms", json.dumps(body), content_type="application/json")

    assert response.status_code in (202, 400), response.content
    parsed = datetime.fromisoformat(send_time).astimezone(UTC)
    if response.status_code == 400:
        assert list(response.json()["errors"]) == ["requestedSendTime"]
    if parsed > django_timezone.now() + timedelta(days=3651):
        assert response.json()["errors"] == {"requestedSendTime": [AHEAD]}


def test_the_bound_follows_the_setting(api_client: APIClient, settings: Any) -> None:
    settings.NOTIFICATIONS_MAX_SEND_AHEAD_DAYS = 30
    soon = (django_timezone.now() + timedelta(days=29)).isoformat()
    late = (django_timezone.now() + timedelta(days=31)).isoformat()

    assert post_future(api_client, "/orders", _chain(requestedSendTime=soon)).status_code == 201
    response = post_future(api_client, "/orders", _chain(requestedSendTime=late))
    assert response.json()["errors"] == {
        "requestedSendTime": ["The send time must be at most 30 days from now."]
    }


# --- Reminders per chain ---------------------------------------------------------------------------


def test_more_reminders_than_the_limit_are_a_400_naming_reminders(api_client: APIClient) -> None:
    """10,000 reminders took 17.8 s and created 10,001 orders; 30,000 hit the worker timeout."""
    body = _chain(reminders=[{"delayDays": 1, "recipient": SMS}] * 21)

    response = post_future(api_client, "/orders", body)

    assert response.status_code == 400
    assert response.json()["errors"] == {"reminders": ["A chain can have at most 20 reminders."]}
    assert not OrderChain.objects.exists()


def test_as_many_reminders_as_the_limit_are_registered(api_client: APIClient, settings: Any) -> None:
    settings.NOTIFICATIONS_MAX_REMINDERS = 3
    reminders = [{"delayDays": day, "recipient": SMS} for day in (1, 2, 3)]

    accepted = post_future(api_client, "/orders", _chain(reminders=reminders))
    refused = post_future(api_client, "/orders", _chain(reminders=[*reminders, reminders[0]]))

    assert accepted.status_code == 201
    assert len(accepted.json()["notification"]["reminders"]) == 3
    assert refused.json()["errors"] == {"reminders": ["A chain can have at most 3 reminders."]}


def test_a_huge_reminder_list_is_refused_without_validating_each(api_client: APIClient) -> None:
    """The count is checked before any reminder, so bad reminders past the limit add no errors."""
    body = _chain(reminders=[{"delayDays": "x"}] * 50_000)

    response = post_future(api_client, "/orders", body)

    assert response.json()["errors"] == {"reminders": ["A chain can have at most 20 reminders."]}


@pytest.mark.parametrize("digits", [4301, 20])
@pytest.mark.parametrize("name", ["seq", "pageSize"])
def test_a_feed_parameter_with_very_many_digits_is_not_a_500(
    api_client: APIClient, name: str, digits: int
) -> None:
    response = api_client.get(f"{FUTURE}/shipment/feed", {name: "9" * digits})

    if name == "seq":
        assert response.status_code == 400
        assert list(response.json()["errors"]) == ["seq"]
    else:
        assert response.status_code == 200  # clamped to the largest page, as the reference does
