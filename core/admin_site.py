"""The admin site of the service: Django's admin with the operations dashboard on its index page.

Installed in place of ``django.contrib.admin`` (``OpsAdminConfig`` in INSTALLED_APPS), so ``admin.site``
and ``@admin.register`` everywhere use this site. The charts are inline SVG laid out here and drawn by
``admin/index.html``: no JavaScript and no CDN, so the page works offline and prints.

Every admin view goes through ``admin_view``, which masks national identity numbers in the whole response
for users without ``orders.view_full_nin`` (``core.masking``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import update_wrapper
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest, HttpResponseBase
from django.template.response import TemplateResponse

from core.masking import mask_response, may_see_nin, search_terms

_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])

if TYPE_CHECKING:
    from dispatch.dashboard import ChannelWindow, CreatorFailureRate, Window

# The dashboard sums up notifications and creators: shown to those who may see them in the lists.
DASHBOARD_PERMISSIONS = ("orders.view_emailnotification", "orders.view_smsnotification")

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


class OpsAdminSite(admin.AdminSite):
    site_header = "Notification service operations"
    site_title = "Notification service"
    index_title = "Operations dashboard"

    def admin_view(self, view: _View, cacheable: bool = False) -> _View:
        """Django's staff check, plus NIN masking of the whole response for users who may not see NINs.

        Every model admin page, action, history, delete confirmation and custom button view is wrapped
        here, so masking the response (rather than each field) also covers titles, breadcrumbs, inlines,
        messages, raw payloads and whatever is added later.
        """
        checked = super().admin_view(view, cacheable)

        def masked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            response = checked(request, *args, **kwargs)
            if may_see_nin(request):
                return response
            return mask_response(response, keep=search_terms(request))

        return cast(_View, update_wrapper(masked, checked))

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        """The app list, plus the dashboard for staff who may view notifications."""
        if not request.user.has_perms(DASHBOARD_PERMISSIONS):
            return super().index(request, extra_context=extra_context)
        # Imported here: the site is built while apps load, before dispatch's models are ready.
        from dispatch.dashboard import dashboard_get

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
        context = {
            "dashboard": dashboard,
            "dashboard_windows": windows,
            "failure_chart": failure_chart(dashboard.failure_rates),
            "legend": [(COLOURS[key], text) for key, text in LEGEND],
            **(extra_context or {}),
        }
        return super().index(request, extra_context=context)


class OpsAdminConfig(AdminConfig):
    default_site = "core.admin_site.OpsAdminSite"
