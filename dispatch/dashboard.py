"""The numbers on the admin dashboard: notifications per channel and status, the backlog, failure rates.

Seven aggregate queries, whatever the table sizes: per channel one over the last 30 days by day and
status and one over the last 24 hours by hour and status (index-only scans of ``<channel>_created``, which
includes the status), one per channel for the failure rate per creator, and one for the backlog (each
count served by a partial index). The result is cached for a few seconds so a busy admin index does not
repeat them.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Q
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from dispatch.services.window import send_window
from orders.models import (
    EMAIL_FAILED_STATUSES,
    SMS_FAILED_STATUSES,
    EmailNotification,
    EmailStatus,
    SendingTimePolicy,
    SmsNotification,
    SmsStatus,
)

logger = logging.getLogger(__name__)

CACHE_KEY = "admin-dashboard-v1"
TOP_CREATORS = 20

# What a status means for the charts: still with us, handed to the provider, delivered, or failed.
PENDING, SENT, DELIVERED, FAILED = "pending", "sent", "delivered", "failed"
CATEGORIES = (DELIVERED, SENT, PENDING, FAILED)


def status_category(status: str) -> str:
    if status.startswith("Failed"):
        return FAILED
    if status == "Delivered":
        return DELIVERED
    if status in (EmailStatus.SUCCEEDED, SmsStatus.ACCEPTED):
        return SENT
    return PENDING


@dataclass(frozen=True)
class StatusCount:
    status: str
    count: int

    @property
    def category(self) -> str:
        return status_category(self.status)


@dataclass(frozen=True)
class Series:
    """Counts per time bucket (hours or days, oldest first), split by status category."""

    starts: tuple[datetime, ...]
    by_category: dict[str, tuple[int, ...]]


@dataclass(frozen=True)
class ChannelWindow:
    channel: str  # "Email" or "SMS"
    total: int
    statuses: tuple[StatusCount, ...]  # most frequent first
    series: Series


@dataclass(frozen=True)
class Window:
    label: str
    bucket: str  # "hour" or "day"
    channels: tuple[ChannelWindow, ...]


@dataclass(frozen=True)
class Backlog:
    email_new: int
    email_sending: int
    sms_new: int
    sms_sending: int
    sms_daytime_new: int  # New SMS with policy Daytime
    window_open: bool
    window_text: str  # "09:00-17:00 Europe/Oslo" or "anytime"
    # While shut: when it next opens (in the window's zone) and the closed days before that, with why.
    window_next_open: datetime | None = None
    window_closed_days: tuple[str, ...] = ()

    @property
    def window_next_open_text(self) -> str:
        """ "Mon 18 May 09:00" in the window's own zone (the template would show it in UTC)."""
        opening = self.window_next_open
        return "" if opening is None else f"{opening:%a} {opening.day} {opening:%b %H:%M}"

    @property
    def sms_waiting_for_window(self) -> int:
        """Daytime SMS that only wait for the window to open (none while it is open)."""
        return 0 if self.window_open else self.sms_daytime_new


@dataclass(frozen=True)
class CreatorFailureRate:
    creator: str
    total: int
    failed: int

    @property
    def rate(self) -> float:
        return self.failed / self.total if self.total else 0.0


@dataclass(frozen=True)
class Dashboard:
    generated_at: datetime
    windows: tuple[Window, ...]
    backlog: Backlog
    failure_rates: tuple[CreatorFailureRate, ...]
    failure_rate_window: str = "last 30 days"
    notes: tuple[str, ...] = field(default=())


def _window(
    model: type[EmailNotification] | type[SmsNotification],
    *,
    channel: str,
    starts: list[datetime],
    trunc: type[TruncHour] | type[TruncDay],
) -> ChannelWindow:
    rows = (
        model.objects.filter(created_at__gte=starts[0])
        .annotate(bucket=trunc("created_at", tzinfo=UTC))
        .values_list("bucket", "status")
        .annotate(n=Count("*"))
        .order_by()
    )
    index = {start: position for position, start in enumerate(starts)}
    per_category: dict[str, list[int]] = {category: [0] * len(starts) for category in CATEGORIES}
    per_status: dict[str, int] = defaultdict(int)
    for bucket, status, n in rows:
        per_status[status] += n
        position = index.get(bucket)
        if position is not None:
            per_category[status_category(status)][position] += n
    statuses = tuple(
        StatusCount(status, n)
        for status, n in sorted(per_status.items(), key=lambda item: (-item[1], item[0]))
    )
    return ChannelWindow(
        channel=channel,
        total=sum(per_status.values()),
        statuses=statuses,
        series=Series(
            starts=tuple(starts), by_category={key: tuple(values) for key, values in per_category.items()}
        ),
    )


def _backlog(now: datetime) -> Backlog:
    email, sms = EmailNotification._meta.db_table, SmsNotification._meta.db_table
    # One round trip; each sub-count matches a partial index predicate (<channel>_new, <channel>_sending),
    # so none of them touches the delivered millions.
    sql = f"""
        SELECT
            (SELECT count(*) FROM {email} WHERE status = %s),
            (SELECT count(*) FROM {email} WHERE status = %s),
            (SELECT count(*) FROM {sms} WHERE status = %s),
            (SELECT count(*) FROM {sms} WHERE status = %s),
            (SELECT count(*) FROM {sms} WHERE status = %s AND sending_time_policy = %s)
    """  # noqa: S608 (table names come from model metadata, values are parameters)
    params = ["New", "Sending", "New", "Sending", "New", SendingTimePolicy.DAYTIME.value]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        email_new, email_sending, sms_new, sms_sending, sms_daytime_new = cursor.fetchone()
    window = send_window()
    next_open: datetime | None = None
    closed_days: tuple[str, ...] = ()
    if window is None:
        window_open, window_text = True, "anytime"
    else:
        window_open = window.contains(now)
        window_text = f"{window.start:%H:%M}-{window.end:%H:%M} {window.zone.key}"
        if window.holiday_country:
            window_text += f", shut on {window.holiday_country} public holidays"
        if window.closed_on_weekends:
            window_text += " and weekends"
        if not window_open:
            next_open, closed_days = window.next_opening(now)
    return Backlog(
        email_new=email_new,
        email_sending=email_sending,
        sms_new=sms_new,
        sms_sending=sms_sending,
        sms_daytime_new=sms_daytime_new,
        window_open=window_open,
        window_text=window_text,
        window_next_open=next_open,
        window_closed_days=closed_days,
    )


def _failure_rates(since: datetime) -> tuple[CreatorFailureRate, ...]:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for model, failed_statuses in (
        (EmailNotification, EMAIL_FAILED_STATUSES),
        (SmsNotification, SMS_FAILED_STATUSES),
    ):
        rows = (
            model.objects.filter(created_at__gte=since)
            .values_list("order__creator")
            .annotate(total=Count("*"), failed=Count("id", filter=Q(status__in=sorted(failed_statuses))))
            .order_by()
        )
        for creator, total, failed in rows:
            totals[creator][0] += total
            totals[creator][1] += failed
    rates = [CreatorFailureRate(creator, total, failed) for creator, (total, failed) in totals.items()]
    # The busiest creators: a rate over a handful of notifications says little.
    rates.sort(key=lambda rate: (-rate.total, rate.creator))
    return tuple(rates[:TOP_CREATORS])


def dashboard_compute(now: datetime | None = None) -> Dashboard:
    """Compute the dashboard now (no cache)."""
    now = now or timezone.now()
    this_hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    today = this_hour.replace(hour=0)
    hours = [this_hour - timedelta(hours=23 - n) for n in range(24)]
    days = [today - timedelta(days=29 - n) for n in range(30)]
    windows = []
    for label, bucket, starts, trunc in (
        ("Last 24 hours", "hour", hours, TruncHour),
        ("Last 30 days", "day", days, TruncDay),
    ):
        windows.append(
            Window(
                label=label,
                bucket=bucket,
                channels=(
                    _window(EmailNotification, channel="Email", starts=starts, trunc=trunc),
                    _window(SmsNotification, channel="SMS", starts=starts, trunc=trunc),
                ),
            )
        )
    return Dashboard(
        generated_at=now,
        windows=tuple(windows),
        backlog=_backlog(now),
        failure_rates=_failure_rates(days[0]),
    )


def dashboard_get() -> Dashboard:
    """The dashboard, from the cache when it is fresh enough (``NOTIFICATIONS_DASHBOARD_CACHE_SECONDS``)."""
    seconds = settings.NOTIFICATIONS_DASHBOARD_CACHE_SECONDS
    if seconds <= 0:
        return dashboard_compute()
    try:
        cached = cache.get(CACHE_KEY)
    except Exception:  # the cache is an optimisation: Redis down must not break the admin
        logger.warning("dashboard cache unavailable", exc_info=True)
        return dashboard_compute()
    if isinstance(cached, Dashboard):
        return cached
    dashboard = dashboard_compute()
    try:
        cache.set(CACHE_KEY, dashboard, seconds)
    except Exception:
        logger.warning("dashboard cache unavailable", exc_info=True)
    return dashboard
