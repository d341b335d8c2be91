"""A logging filter that masks personal data in every record, as a second line of defence.

The code logs ids, counts and statuses, never a national identity number, a phone number or an email
address. This filter is the net under that rule: whatever slips into a message, its arguments, an
exception's text or an ``extra`` field is masked before any handler writes it:

* 11-digit national identity numbers (``01017012345`` → ``[nin]``),
* E.164 phone numbers (``+4799315000`` → ``[phone]``),
* email addresses (``ola@example.no`` → ``[email]``).

It is attached to every handler in ``LOGGING`` and, in Celery workers (which set up their own handlers),
to the worker's and the task logger's handlers. :class:`TraceContextFilter` goes beside it: it gives each
record the ids of the trace and span it was logged in (see ``core.tracing``).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from core.tracing import tracing_enabled

# Not part of a longer run of digits, letters or an id (a UUID's last group can be all digits).
_NIN = re.compile(r"(?<![0-9A-Za-z_-])\d{11}(?![0-9A-Za-z_-])")
_PHONE = re.compile(r"\+[1-9]\d{6,14}(?!\d)")
_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
# Attributes every LogRecord has; anything else came in through ``extra``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_FORMATTER = logging.Formatter()


def mask_personal_data(text: str) -> str:
    """``text`` with NINs, E.164 numbers and email addresses replaced by placeholders."""
    if not text:
        return text
    # Each pattern needs its character ("@", "+"): a text without it is not searched (most log lines).
    if "@" in text:
        text = _EMAIL.sub("[email]", text)
    if "+" in text:
        text = _PHONE.sub("[phone]", text)
    return _NIN.sub("[nin]", text)


class PersonalDataFilter(logging.Filter):
    """Masks personal data in the message, the exception text and string ``extra`` fields; drops nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return True
        record.msg, record.args = mask_personal_data(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_personal_data(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_personal_data(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in _STANDARD and isinstance(value, str):
                setattr(record, name, mask_personal_data(value))
        return True


class TraceContextFilter(logging.Filter):
    """Sets ``trace_id`` and ``span_id`` (hex, as tracing back ends show them) on every record; empty
    outside a span or with tracing off, so a format may always name them."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.trace_id = record.span_id = ""
        if tracing_enabled():
            from opentelemetry import trace

            context = trace.get_current_span().get_span_context()
            if context.is_valid:
                record.trace_id = trace.format_trace_id(context.trace_id)
                record.span_id = trace.format_span_id(context.span_id)
        return True


def _add_once(kind: type[logging.Filter], logger: logging.Logger | None) -> None:
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(existing, kind) for existing in handler.filters):
            handler.addFilter(kind())


def add_to_handlers(logger: logging.Logger | None = None, **_: Any) -> None:
    """Attach the filter to every handler of ``logger`` (the root logger by default), once."""
    _add_once(PersonalDataFilter, logger)


def add_trace_context_to_handlers(logger: logging.Logger | None = None, **_: Any) -> None:
    """Attach :class:`TraceContextFilter` to every handler of ``logger`` (by default the root), once."""
    _add_once(TraceContextFilter, logger)
