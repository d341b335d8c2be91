"""The daytime SMS send window (``NOTIFICATIONS_SMS_SEND_WINDOW`` in ``NOTIFICATIONS_SMS_TIME_ZONE``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class SendWindow:
    start: time
    end: time
    zone: ZoneInfo

    def contains(self, at: datetime) -> bool:
        """Whether ``at`` (aware) falls inside the window; the start is inclusive, the end exclusive."""
        local = at.astimezone(self.zone).time()
        return self.start <= local < self.end


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
    return SendWindow(start=start, end=end, zone=ZoneInfo(settings.NOTIFICATIONS_SMS_TIME_ZONE))


def sms_send_window_is_open(at: datetime) -> bool:
    """Whether a Daytime SMS may be handed to a provider at ``at``."""
    window = send_window()
    return window is None or window.contains(at)
