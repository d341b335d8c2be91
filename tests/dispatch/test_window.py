"""The daytime SMS send window: 09:00-17:00 Europe/Oslo by default, start inclusive, end exclusive."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from django.core.exceptions import ImproperlyConfigured

from dispatch.services.window import send_window, sms_send_window_is_open


@pytest.mark.parametrize(
    ("at", "open_"),
    [
        (datetime(2026, 1, 12, 7, 59, 59, tzinfo=UTC), False),  # 08:59:59 Oslo (winter, UTC+1)
        (datetime(2026, 1, 12, 8, 0, tzinfo=UTC), True),  # 09:00 Oslo: the start is inside
        (datetime(2026, 1, 12, 15, 59, 59, tzinfo=UTC), True),
        (datetime(2026, 1, 12, 16, 0, tzinfo=UTC), False),  # 17:00 Oslo: the end is outside
        (datetime(2026, 7, 6, 7, 0, tzinfo=UTC), True),  # 09:00 Oslo in summer (UTC+2)
        (datetime(2026, 7, 6, 15, 0, tzinfo=UTC), False),  # 17:00 Oslo in summer
        (datetime(2026, 1, 10, 10, 0, tzinfo=UTC), True),  # a Saturday: the window is every day
    ],
)
def test_default_window_is_nine_to_five_in_oslo(at, open_):
    assert sms_send_window_is_open(at) is open_


@pytest.mark.parametrize("value", ["anytime", "ANYTIME", " anytime ", ""])
def test_anytime_lifts_the_window(settings, value):
    settings.NOTIFICATIONS_SMS_SEND_WINDOW = value

    assert send_window() is None
    assert sms_send_window_is_open(datetime(2026, 1, 12, 2, 0, tzinfo=UTC))


def test_window_and_time_zone_are_configurable(settings):
    settings.NOTIFICATIONS_SMS_SEND_WINDOW = "08:30-20:00"
    settings.NOTIFICATIONS_SMS_TIME_ZONE = "UTC"

    window = send_window()

    assert window is not None
    assert (window.start, window.end) == (time(8, 30), time(20, 0))
    assert sms_send_window_is_open(datetime(2026, 1, 12, 19, 59, tzinfo=UTC))
    assert not sms_send_window_is_open(datetime(2026, 1, 12, 8, 29, tzinfo=UTC))


@pytest.mark.parametrize("value", ["9-17", "17:00-09:00", "09:00", "nine-five", "09:00-09:00"])
def test_malformed_window_is_a_configuration_error(settings, value):
    settings.NOTIFICATIONS_SMS_SEND_WINDOW = value

    with pytest.raises(ImproperlyConfigured):
        send_window()
