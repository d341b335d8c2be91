"""The operations dashboard on the admin index: the backlog, notifications per channel and status as charts,
and the failure rate per creator (the numbers come from ``dispatch.dashboard``).

The charts are inline SVG laid out here and drawn by ``admin/dispatch/dashboard.html``: no JavaScript and
no CDN, so the page works offline and prints. ``dashboard_install`` puts the page on the admin site's
index (``OpsAdminSite.index_panel``): the kernel's site knows no app, and the dashboard belongs to the
pipeline, so dispatch's admin plugs it in when Django's autodiscovery imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.admin import AdminSite
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from core.admin_site import OpsAdminSite
from dispatch.dashboard import ChannelWindow, CreatorFailureRate, Window, dashboard_get

# The dashboard sums up notifications and creators: shown to those who may see them in the lists.
DASHBOARD_PERMISSIONS = ("orders.view_emailnotification", "orders.view_smsnotification")
# The index page for everyone (the app list; the dashboard above it for those with the permissions).
DASHBOARD_TEMPLATE = "admin/dispatch/dashboard.html"

COLOURS = {"delivered": "#2e7d32", "sent": "#81c784", "pending": "#78909c", "failed": "#c62828"}
LEGEND = (
    ("delivered", "Delivered"),
    ("sent", "Sent, no report yet"),
    ("pending", "New / sending"),
    ("failed", "Failed"),
)


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    fill: str
    title: str = ""


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "start"


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    rects: tuple[Rect, ...]
    labels: tuple[Label, ...]
    lines: tuple[tuple[float, float, float, float], ...] = ()
    title: str = ""


def _nice_max(value: int) -> int:
    """The smallest of 2, 4, 6, 8, 10, 20, 40, ... at or above ``value``: its half is whole too."""
    step = 1
    while True:
        for factor in (2, 4, 6, 8, 10):
            if step * factor >= value:
                return step * factor
        step *= 10


def series_chart(window: Window, channel: ChannelWindow) -> Chart:
    """Stacked columns per hour or day, one colour per status category."""
    width, height, left, bottom, top = 480, 170, 44, 22, 8
    plot_w, plot_h = width - left - 6, height - top - bottom
    buckets = channel.series.starts
    totals = [sum(channel.series.by_category[c][i] for c in COLOURS) for i in range(len(buckets))]
    y_max = _nice_max(max(totals, default=0))
    slot = plot_w / max(len(buckets), 1)
    rects: list[Rect] = []
    labels: list[Label] = []
    for i, start in enumerate(buckets):
        stamp = f"{start:%Y-%m-%d %H:00}" if window.bucket == "hour" else f"{start:%Y-%m-%d}"
        y: float = top + plot_h
        for category in COLOURS:
            n = channel.series.by_category[category][i]
            if not n:
                continue
            h = plot_h * n / y_max
            y -= h
            rects.append(
                Rect(
                    x=round(left + i * slot + slot * 0.1, 1),
                    y=round(y, 1),
                    width=round(slot * 0.8, 1),
                    height=round(h, 1),
                    fill=COLOURS[category],
                    title=f"{stamp} UTC: {n} {category}",
                )
            )
        every = 6 if window.bucket == "hour" else 7
        if i % every == 0:
            text = f"{start:%H}:00" if window.bucket == "hour" else f"{start:%d.%m}"
            labels.append(
                Label(x=round(left + i * slot + slot / 2, 1), y=height - 6, text=text, anchor="middle")
            )
    lines = []
    for fraction in (0.0, 0.5, 1.0):
        y = round(top + plot_h * (1 - fraction), 1)
        lines.append((float(left), y, float(width - 6), y))
        labels.append(Label(x=left - 4, y=y + 4, text=f"{y_max * fraction:,g}", anchor="end"))
    return Chart(
        width=width,
        height=height,
        rects=tuple(rects),
        labels=tuple(labels),
        lines=tuple(lines),
        title=f"{channel.channel} notifications per {window.bucket}, {window.label.lower()}",
    )


def status_chart(channel: ChannelWindow) -> Chart:
    """One horizontal bar per status, longest first."""
    row, left, width = 20, 190, 480
    statuses = channel.statuses or ()
    height = max(row * len(statuses), row) + 4
    top = max((s.count for s in statuses), default=0)
    rects, labels = [], []
    for i, status in enumerate(statuses):
        y = i * row + 2
        bar = (width - left - 70) * status.count / top if top else 0
        rects.append(
            Rect(
                x=left,
                y=y,
                width=round(max(bar, 1), 1),
                height=row - 6,
                fill=COLOURS[status.category],
                title=f"{status.status}: {status.count}",
            )
        )
        labels.append(Label(x=left - 6, y=y + row - 9, text=status.status, anchor="end"))
        labels.append(Label(x=round(left + bar + 6, 1), y=y + row - 9, text=f"{status.count:,}"))
    if not statuses:
        labels.append(Label(x=4, y=row - 6, text="No notifications"))
    return Chart(
        width=width,
        height=height,
        rects=tuple(rects),
        labels=tuple(labels),
        title=f"{channel.channel} notifications per status",
    )


def failure_chart(rates: tuple[CreatorFailureRate, ...]) -> Chart:
    """The failure rate of each creator as a bar of 0-100 %."""
    row, left, width = 22, 150, 640
    plot_w = width - left - 200
    rects, labels = [], []
    for i, rate in enumerate(rates):
        y = i * row + 2
        rects.append(Rect(x=left, y=y, width=plot_w, height=row - 8, fill="#eceff1"))
        if rate.failed:
            rects.append(
                Rect(
                    x=left,
                    y=y,
                    width=round(max(plot_w * rate.rate, 1), 1),
                    height=row - 8,
                    fill=COLOURS["failed"],
                    title=f"{rate.creator}: {rate.failed} of {rate.total} failed",
                )
            )
        labels.append(Label(x=left - 6, y=y + row - 10, text=rate.creator, anchor="end"))
        labels.append(
            Label(
                x=left + plot_w + 8,
                y=y + row - 10,
                text=f"{rate.rate:.1%} ({rate.failed:,} of {rate.total:,})",
            )
        )
    if not rates:
        labels.append(Label(x=4, y=row - 6, text="No notifications in the last 30 days"))
    return Chart(
        width=width,
        height=max(row * len(rates), row) + 4,
        rects=tuple(rects),
        labels=tuple(labels),
        title="Failure rate per creator",
    )


def dashboard_context(request: HttpRequest) -> dict[str, Any]:
    """The dashboard's charts and numbers for the index page, or nothing without the permissions."""
    if not request.user.has_perms(DASHBOARD_PERMISSIONS):
        return {}
    dashboard = dashboard_get()
    windows = [
        {
            "label": window.label,
            "channels": [
                {
                    "channel": channel,
                    "series": series_chart(window, channel),
                    "statuses": status_chart(channel),
                }
                for channel in window.channels
            ],
        }
        for window in dashboard.windows
    ]
    return {
        "dashboard": dashboard,
        "dashboard_windows": windows,
        "failure_chart": failure_chart(dashboard.failure_rates),
        "legend": [(COLOURS[key], text) for key, text in LEGEND],
    }


def dashboard_install(site: AdminSite) -> None:
    """Make the dashboard the index page of ``site``."""
    if not isinstance(site, OpsAdminSite):
        raise ImproperlyConfigured(
            "The operations dashboard needs core.admin_site.OpsAdminSite as the admin site "
            "(core.admin_site.OpsAdminConfig in INSTALLED_APPS)."
        )
    site.index_panel(template=DASHBOARD_TEMPLATE, context=dashboard_context)
