"""Strict input fields: a wrong JSON type is a 400 on that field, never a silent conversion or a 500.

DRF's stock fields coerce (``CharField`` turns ``123`` into ``"123"``, ``BooleanField`` accepts ``"yes"``);
the service we replace deserialises with System.Text.Json, which refuses both. These fields refuse them too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import serializers
from rest_framework.fields import empty

from orders.validation import MSG_SEND_TIME_TOO_LATE, MSG_SEND_TIME_WITHOUT_ZONE, is_blank_sender

MSG_NOT_A_STRING = "Must be a string."
MSG_NOT_A_BOOLEAN = "Must be true or false."


class StrictCharField(serializers.CharField):
    """A JSON string, kept exactly as sent (no trimming); other JSON types are refused."""

    default_error_messages = {"invalid": MSG_NOT_A_STRING}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def run_validation(self, data: Any = empty) -> Any:
        if data is not empty and data is not None and not isinstance(data, str):
            self.fail("invalid")
        return super().run_validation(data)


class RequiredTextField(StrictCharField):
    """A required text that must not be empty or whitespace only; every such case gives ``message``."""

    def __init__(self, *, message: str, **kwargs: Any) -> None:
        messages = {"required": message, "null": message, "blank": message}
        super().__init__(
            required=True, allow_null=False, allow_blank=False, error_messages=messages, **kwargs
        )

    def run_validation(self, data: Any = empty) -> Any:
        # FluentValidation's NotEmpty refuses whitespace-only text; the text itself is stored untrimmed.
        if isinstance(data, str) and not data.strip():
            self.fail("blank")
        return super().run_validation(data)


class SenderField(StrictCharField):
    """An optional sender: left out, null or spaces only means the configured default (``None``);
    anything else must pass ``rule`` and is kept trimmed.

    Checked here, at registration, because a sender a provider cannot write would otherwise be found
    only when the messages are sent.
    """

    def __init__(self, *, rule: Callable[[str], bool], message: str, **kwargs: Any) -> None:
        self.rule = rule
        self.message = message
        kwargs.setdefault("required", False)
        super().__init__(allow_null=True, allow_blank=True, **kwargs)

    def run_validation(self, data: Any = empty) -> Any:
        value = super().run_validation(data)
        if value is None or is_blank_sender(value):
            return None
        if not self.rule(value):
            raise serializers.ValidationError(self.message)
        return value.strip()


class StrictBooleanField(serializers.BooleanField):
    """JSON ``true`` or ``false`` only (``null`` when the field allows it)."""

    default_error_messages = {"invalid": MSG_NOT_A_BOOLEAN}

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        self.fail("invalid")
        raise AssertionError("unreachable")  # fail() always raises


class EnumField(serializers.ChoiceField):
    """An enum by member name, case-insensitive, or by its integer value, as the reference accepts.

    ``values`` are the member names in declaration order, so ``values[n]`` is the member with value ``n``.
    """

    def __init__(self, values: Sequence[str], **kwargs: Any) -> None:
        self.values = list(values)
        self._by_name = {value.lower(): value for value in self.values}
        kwargs.setdefault(
            "error_messages",
            {
                "invalid_choice": '"{input}" is not a valid value. Valid values: '
                + ", ".join(self.values)
                + "."
            },
        )
        super().__init__(choices=[(value, value) for value in self.values], **kwargs)

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, str) and data.lower() in self._by_name:
            return self._by_name[data.lower()]
        if isinstance(data, int) and not isinstance(data, bool) and 0 <= data < len(self.values):
            return self.values[data]
        self.fail("invalid_choice", input=data)
        raise AssertionError("unreachable")


class OffsetDateTimeField(serializers.DateTimeField):
    """An ISO-8601 date and time that must carry an offset or ``Z``; returned in UTC.

    DRF would silently read a time without offset in the server's zone; the reference refuses it.
    Up to twelve fraction digits are read (.NET writes seven), the excess beyond microseconds is dropped.
    """

    default_error_messages = {
        "invalid": "Must be an ISO-8601 date and time with an offset, e.g. 2030-01-15T08:00:00+01:00.",
        "no_offset": MSG_SEND_TIME_WITHOUT_ZONE,
    }

    def to_internal_value(self, value: Any) -> datetime:
        if not isinstance(value, str):
            self.fail("invalid")
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:  # well-formed but impossible, e.g. month 13
            parsed = None
        if parsed is None:
            self.fail("invalid")
        assert parsed is not None
        if parsed.utcoffset() is None:
            self.fail("no_offset")
        try:
            return parsed.astimezone(UTC)
        except OverflowError:  # e.g. 9999-12-31T23:00:00-05:00 is past the last representable instant
            self.fail("invalid")
            raise


def latest_send_time(now: datetime | None = None) -> datetime:
    """The latest time an order may be due: NOTIFICATIONS_MAX_SEND_AHEAD_DAYS from now."""
    # Clamped as settings.py checks it, so an override cannot bring an overflow back.
    days = min(max(int(settings.NOTIFICATIONS_MAX_SEND_AHEAD_DAYS), 1), 36_500)
    return (now or timezone.now()) + timedelta(days=days)


def refuse_too_late(send_time: datetime) -> None:
    """A 400 on the field when ``send_time`` is further ahead than an order may be due."""
    if send_time > latest_send_time():
        raise serializers.ValidationError(
            MSG_SEND_TIME_TOO_LATE.format(days=settings.NOTIFICATIONS_MAX_SEND_AHEAD_DAYS)
        )
