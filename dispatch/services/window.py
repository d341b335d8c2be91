"""The daytime SMS send window (``NOTIFICATIONS_SMS_SEND_WINDOW`` in ``NOTIFICATIONS_SMS_TIME_ZONE``).

The window is closed all day on the public holidays of ``NOTIFICATIONS_SMS_HOLIDAYS_COUNTRY`` (Norway by
default, from the ``holidays`` package, which follows each country's law, including moving feasts such as
Easter) and, with ``NOTIFICATIONS_SMS_CLOSED_ON_WEEKENDS``, on Saturdays and Sundays. Days are the days
of the window's time zone, so a holiday starts at local midnight whatever the UTC offset.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# Far beyond any run of closed days a calendar has; a window that never opens is a configuration error.
MAX_CLOSED_DAYS = 31
# Holiday names in English where the country's entry has them (Norway's default language is Norwegian).
HOLIDAY_LANGUAGE = "en_US"


@functools.cache
def _holiday_calendar(country: str) -> holidays.HolidayBase:
    try:
        if country == "NO":
            # Norway's calendar can count every Sunday as a holiday; weekends are their own setting here.
            return holidays.country_holidays(country, language=HOLIDAY_LANGUAGE, include_sundays=False)
        return holidays.country_holidays(country, language=HOLIDAY_LANGUAGE)
    except NotImplementedError as exc:
        raise ImproperlyConfigured(
            f"NOTIFICATIONS_SMS_HOLIDAYS_COUNTRY: no public holidays are known for {country!r}"
        ) from exc


@dataclass(frozen=True)
class SendWindow:
    start: time
    end: time
    zone: ZoneInfo
    holiday_country: str = ""
    closed_on_weekends: bool = False

    def closed_reason(self, day: date) -> str | None:
        """Why the window stays shut all of ``day`` ("17 May: Constitution Day"), or None on a working day."""
        label = f"{day.day} {day:%B}"
        if self.holiday_country:
            name = _holiday_calendar(self.holiday_country).get(day)
            if name:
                return f"{label}: {name}"
        if self.closed_on_weekends and day.weekday() >= 5:
            return f"{label}: {day:%A}"
        return None

    def contains(self, at: datetime) -> bool:
        """Whether ``at`` (aware) falls inside the window; the start is inclusive, the end exclusive."""
        local = at.astimezone(self.zone)
        return self.start <= local.time() < self.end and self.closed_reason(local.date()) is None

    def next_opening(self, at: datetime) -> tuple[datetime, tuple[str, ...]]:
        """When the window is next open at or after ``at`` (``at`` itself when open now), and the closed
        days passed on the way, each with its reason.

        Raises ImproperlyConfigured when no window opens within MAX_CLOSED_DAYS.
        """
        if self.contains(at):
            return at, ()
        local = at.astimezone(self.zone)
        day = local.date()
        skipped: list[str] = []
        if local.time() >= self.start:
            # Today's window has begun: it is shut all day (named when it is why) or over for the day.
            today = self.closed_reason(day)
            if today is not None and local.time() < self.end:
                skipped.append(today)
            day += timedelta(days=1)
        for _ in range(MAX_CLOSED_DAYS):
            reason = self.closed_reason(day)
            if reason is None:
                # combine() with the zone gives the wall-clock start, the right offset on either side of DST.
                return datetime.combine(day, self.start, tzinfo=self.zone), tuple(skipped)
            skipped.append(reason)
            day += timedelta(days=1)
        raise ImproperlyConfigured(f"The SMS send window does not open within {MAX_CLOSED_DAYS} days")


def send_window() -> SendWindow | None:
    """The configured window, or None when SMS may be sent at any time."""
    raw = settings.NOTIFICATIONS_SMS_SEND_WINDOW.strip().lower()
    if raw in ("", "anytime"):
        return None
    try:
        start_text, end_text = raw.split("-")
        start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip())
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"NOTIFICATIONS_SMS_SEND_WINDOW must be 'HH:MM-HH:MM' or 'anytime', not {raw!r}"
        ) from exc
    if start >= end:
        raise ImproperlyConfigured("NOTIFICATIONS_SMS_SEND_WINDOW must start before it ends")
    try:
        zone = ZoneInfo(settings.NOTIFICATIONS_SMS_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ImproperlyConfigured(
            f"NOTIFICATIONS_SMS_TIME_ZONE: unknown time zone {settings.NOTIFICATIONS_SMS_TIME_ZONE!r}"
        ) from exc
    country = settings.NOTIFICATIONS_SMS_HOLIDAYS_COUNTRY.strip().upper()
    if country:
        _holiday_calendar(country)  # an unknown country fails here, not at the first SMS
    return SendWindow(
        start=start,
        end=end,
        zone=zone,
        holiday_country=country,
        closed_on_weekends=bool(settings.NOTIFICATIONS_SMS_CLOSED_ON_WEEKENDS),
    )


def send_window_warm_up(today: date | None = None) -> None:
    """Load the holiday calendar with this year's and next year's holidays (at a worker's start-up).

    The country's module is imported and its years computed on first use: about an eighth of a worker's
    time on the first large order it processed. Done in the worker's parent process, every pool process
    inherits it.
    """
    window = send_window()
    if window is None or not window.holiday_country:
        return
    today = today or datetime.now(window.zone).date()
    for year in (today.year, today.year + 1):
        window.closed_reason(date(year, 1, 1))


def sms_send_window_is_open(at: datetime) -> bool:
    """Whether a Daytime SMS may be handed to a provider at ``at``."""
    window = send_window()
    return window is None or window.contains(at)


def sms_daytime_send_time(at: datetime) -> datetime:
    """The earliest moment at or after ``at`` a Daytime SMS may be handed to a provider."""
    window = send_window()
    return at if window is None else window.next_opening(at)[0]
