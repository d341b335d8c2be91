"""The SMS send window on public holidays (Norway's by default) and, when configured, weekends: Easter,
17 May, Christmas, a weekend either way, the change to summer time and the Oslo day boundary."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from dispatch.dashboard import dashboard_compute
from dispatch.services.expiry import sms_expires_at
from dispatch.services.window import send_window, sms_daytime_send_time, sms_send_window_is_open
from orders.models import SendingTimePolicy
from tests.dispatch.sending_support import sms_notification
from tests.orders.admin_support import logged_in

pytest_plugins = ["tests.orders.admin_support"]  # staff clients of each group


def opening(at: datetime) -> tuple[datetime, tuple[str, ...]]:
    window = send_window()
    assert window is not None
    found, skipped = window.next_opening(at)
    return found.astimezone(UTC), skipped


@pytest.fixture(autouse=True)
def norwegian_holidays(settings) -> None:
    # The test settings have no holiday calendar; these tests are about the default one, Norway's.
    settings.NOTIFICATIONS_SMS_HOLIDAYS_COUNTRY = "NO"


@pytest.fixture
def no_dashboard_cache(settings) -> None:
    settings.NOTIFICATIONS_DASHBOARD_CACHE_SECONDS = 0


@pytest.fixture
def weekends_closed(settings):
    settings.NOTIFICATIONS_SMS_CLOSED_ON_WEEKENDS = True


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (date(2026, 4, 2), "2 April: Maundy Thursday"),
        (date(2026, 4, 3), "3 April: Good Friday"),
        (date(2026, 4, 5), "5 April: Easter Sunday"),
        (date(2026, 4, 6), "6 April: Easter Monday"),
        (date(2026, 5, 17), "17 May: Constitution Day"),
        (date(2026, 12, 25), "25 December: Christmas Day"),
        (date(2026, 12, 26), "26 December: Second Day of Christmas"),
        (date(2027, 3, 25), "25 March: Maundy Thursday"),  # Easter moves: 2027's is in March
        (date(2026, 4, 4), None),  # Easter Saturday is no public holiday
        (date(2026, 12, 24), None),  # nor is Christmas Eve
        (date(2026, 5, 10), None),  # an ordinary Sunday, with weekends open
    ],
)
def test_norwegian_public_holidays_shut_the_window_with_their_name(day, reason):
    window = send_window()
    assert window is not None

    assert window.closed_reason(day) == reason
    at_ten = datetime(day.year, day.month, day.day, 10, 0, tzinfo=window.zone)
    assert sms_send_window_is_open(at_ten) is (reason is None)


def test_a_daytime_sms_due_on_maundy_thursday_waits_until_easter_saturday():
    at = datetime(2026, 4, 2, 8, 0, tzinfo=UTC)  # 10:00 Oslo, summer time

    assert opening(at) == (
        datetime(2026, 4, 4, 7, 0, tzinfo=UTC),
        ("2 April: Maundy Thursday", "3 April: Good Friday"),
    )
    # Its 48 hours count from that opening, so it does not expire over Easter.
    assert sms_expires_at(at, SendingTimePolicy.DAYTIME) == datetime(2026, 4, 6, 7, 0, tzinfo=UTC)


def test_with_weekends_shut_easter_waits_until_tuesday(weekends_closed):
    at = datetime(2026, 4, 1, 16, 0, tzinfo=UTC)  # Wednesday 18:00 Oslo, after the window

    found, skipped = opening(at)

    assert found == datetime(2026, 4, 7, 7, 0, tzinfo=UTC)
    assert skipped == (
        "2 April: Maundy Thursday",
        "3 April: Good Friday",
        "4 April: Saturday",
        "5 April: Easter Sunday",
        "6 April: Easter Monday",
    )
    assert sms_daytime_send_time(at) == found


def test_constitution_day_sends_on_18_may():
    at = datetime(2026, 5, 16, 16, 0, tzinfo=UTC)  # Saturday 18:00 Oslo

    assert opening(at) == (datetime(2026, 5, 18, 7, 0, tzinfo=UTC), ("17 May: Constitution Day",))


@pytest.mark.parametrize(
    ("weekends", "expected", "skipped"),
    [
        (
            False,
            datetime(2026, 12, 27, 8, 0, tzinfo=UTC),
            ("25 December: Christmas Day", "26 December: Second Day of Christmas"),
        ),
        (
            True,
            datetime(2026, 12, 28, 8, 0, tzinfo=UTC),
            ("25 December: Christmas Day", "26 December: Second Day of Christmas", "27 December: Sunday"),
        ),
    ],
)
def test_christmas_eve_evening_waits_past_christmas(settings, weekends, expected, skipped):
    settings.NOTIFICATIONS_SMS_CLOSED_ON_WEEKENDS = weekends
    at = datetime(2026, 12, 24, 16, 30, tzinfo=UTC)  # Thursday 17:30 Oslo, winter time

    assert opening(at) == (expected, skipped)


def test_a_weekend_is_open_by_default_and_shut_when_configured(settings):
    saturday = datetime(2026, 1, 10, 10, 0, tzinfo=UTC)
    assert sms_send_window_is_open(saturday)

    settings.NOTIFICATIONS_SMS_CLOSED_ON_WEEKENDS = True
    assert not sms_send_window_is_open(saturday)
    assert opening(saturday) == (
        datetime(2026, 1, 12, 8, 0, tzinfo=UTC),
        ("10 January: Saturday", "11 January: Sunday"),
    )


def test_the_opening_after_the_change_to_summer_time_is_09_00_local(weekends_closed):
    at = datetime(2026, 3, 27, 17, 0, tzinfo=UTC)  # Friday 18:00 Oslo, UTC+1; summer time from Sunday

    found, _ = opening(at)

    assert found == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # Monday 09:00 Oslo, UTC+2
    assert sms_expires_at(at, SendingTimePolicy.DAYTIME) == datetime(2026, 4, 1, 7, 0, tzinfo=UTC)


def test_a_holiday_follows_the_oslo_calendar_day_not_utc(settings):
    settings.NOTIFICATIONS_SMS_SEND_WINDOW = "00:00-23:59"

    assert not sms_send_window_is_open(datetime(2026, 5, 16, 22, 30, tzinfo=UTC))  # 17 May 00:30 Oslo
    assert sms_send_window_is_open(datetime(2026, 5, 16, 21, 30, tzinfo=UTC))  # 16 May 23:30 Oslo
    assert sms_send_window_is_open(datetime(2026, 5, 17, 22, 30, tzinfo=UTC))  # 18 May 00:30 Oslo


def test_holidays_can_be_turned_off_or_taken_from_another_country(settings):
    christmas = datetime(2026, 12, 25, 10, 0, tzinfo=UTC)
    settings.NOTIFICATIONS_SMS_HOLIDAYS_COUNTRY = ""
    assert sms_send_window_is_open(christmas)

    settings.NOTIFICATIONS_SMS_HOLIDAYS_COUNTRY = "se"
    settings.NOTIFICATIONS_SMS_TIME_ZONE = "Europe/Stockholm"
    assert not sms_send_window_is_open(datetime(2026, 6, 6, 10, 0, tzinfo=UTC))  # Sweden's national day


@pytest.mark.parametrize(
    ("name", "value"),
    [("NOTIFICATIONS_SMS_HOLIDAYS_COUNTRY", "XX"), ("NOTIFICATIONS_SMS_TIME_ZONE", "Mars/Olympus")],
)
def test_an_unknown_country_or_zone_is_a_configuration_error(settings, name, value):
    setattr(settings, name, value)

    with pytest.raises(ImproperlyConfigured):
        send_window()


# --- the dashboard -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_dashboard_says_when_the_window_next_opens_and_why():
    sms_notification(status="New", sending_time_policy="Daytime")

    backlog = dashboard_compute(now=datetime(2026, 5, 17, 8, 0, tzinfo=UTC)).backlog

    assert not backlog.window_open
    assert backlog.sms_waiting_for_window == 1
    assert backlog.window_next_open_text == "Mon 18 May 09:00"
    assert backlog.window_closed_days == ("17 May: Constitution Day",)
    assert "shut on NO public holidays" in backlog.window_text


@pytest.mark.django_db
@pytest.mark.usefixtures("no_dashboard_cache")
def test_the_admin_dashboard_shows_the_holiday(support):
    with time_machine.travel(datetime(2026, 12, 25, 9, 0, tzinfo=UTC), tick=False):
        response = logged_in(support).get(reverse("admin:index"))  # a session of that day
        assert response.status_code == 200
        page = response.content.decode()

    assert "opens Sun 27 Dec 09:00" in page
    assert "25 December: Christmas Day; 26 December: Second Day of Christmas" in page


def test_a_worker_loads_the_holiday_calendar_before_its_pool_forks() -> None:
    """Celery's worker_init (in the parent, before the pool forks) computes this year's and next year's
    holidays, so no pool process pays for the calendar on its first order."""
    from celery.signals import worker_init

    import dispatch.tasks  # noqa: F401  (a worker imports its task modules before worker_init)
    from dispatch.services.window import _holiday_calendar

    _holiday_calendar.cache_clear()
    with time_machine.travel(datetime(2031, 3, 1, 12, tzinfo=UTC), tick=False):
        worker_init.send(sender=None)

    assert _holiday_calendar.cache_info().currsize == 1
    calendar = _holiday_calendar("NO")
    assert {2031, 2032} <= set(calendar.years)
    assert calendar.get(date(2032, 12, 25)) == "Christmas Day"


def test_the_warm_up_loads_nothing_without_a_holiday_calendar(settings) -> None:
    from celery.signals import worker_init

    import dispatch.tasks  # noqa: F401
    from dispatch.services.window import _holiday_calendar

    settings.NOTIFICATIONS_SMS_HOLIDAYS_COUNTRY = ""
    _holiday_calendar.cache_clear()
    worker_init.send(sender=None)

    assert _holiday_calendar.cache_info().currsize == 0
