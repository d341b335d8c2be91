"""The small interface every email and SMS provider implements.

A provider turns messages into provider calls over one reused connection and reports one
:class:`Outcome` per message. It never touches notification rows: the sending service claims,
classifies and records. Errors are classified where the protocol is understood, in the provider, as a
:class:`ProviderError` with ``permanent``, ``retry_after`` (throttling) and ``attempted`` flags.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Generic, TypeVar

from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AttachmentReference:
    """A file to attach, fetched from ``url`` when the email is sent (composed emails)."""

    filename: str
    mime_type: str
    url: str


@dataclass(frozen=True)
class EmailMessage:
    notification_id: uuid.UUID
    to: str
    from_address: str
    subject: str
    body: str
    content_type: str  # "Plain" or "Html"
    attempt: int  # 1 for the first hand-over
    attachments: tuple[AttachmentReference, ...] = ()


@dataclass(frozen=True)
class SmsMessage:
    notification_id: uuid.UUID
    to: str  # as stored: "+4799999999", "0047 999 99 999" ...
    sender: str  # alphanumeric ("Altinn") or a number
    body: str
    attempt: int

    @property
    def to_e164(self) -> str:
        """The number as providers want it: "+" and digits only ("00" means "+")."""
        digits = "".join(ch for ch in self.to if ch.isdigit())
        stripped = self.to.strip()
        if stripped.startswith("00"):
            digits = digits[2:]
        return f"+{digits}"


def storable(text: str) -> str:
    """``text`` as a PostgreSQL text column can hold it: NUL, which none accepts, becomes U+FFFD.

    A provider's answer is recorded verbatim (its error, its raw response, its message id, a delivery
    report's status); a NUL in it (a JSON ``\\u0000``, a C string's terminator inside a PDU field) would
    fail the whole chunk's record, and its messages would be sent again when their lease runs out, or
    answer a delivery report with a 503 that the provider retries for ever.
    """
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


@dataclass(frozen=True)
class ProviderResult:
    """The provider accepted the message."""

    reference: str  # the provider's message id, matched by later delivery reports
    raw: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "reference", storable(self.reference))
        object.__setattr__(self, "raw", storable(self.raw))


class ProviderError(Exception):
    """The provider did not take the message.

    ``permanent``: never retry; ``status`` is the final status to record (default ``Failed``).
    ``retry_after``: the provider throttles us; pause it this many seconds, without spending the
    notification's retry budget.
    ``attempted``: False when the message never reached the provider (no connection could be made),
    so it costs no retry budget either.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        status: str | None = None,
        attempted: bool = True,
        raw: str = "",
    ) -> None:
        message = storable(message)
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after
        self.status = status
        self.attempted = attempted
        self.raw = storable(raw)

    @property
    def stops_batch(self) -> bool:
        """Throttling and a dead connection stop the batch: the rest would fail the same way."""
        return self.retry_after is not None or not self.attempted


@dataclass(frozen=True)
class ReportStatus:
    """What a provider's delivery-report status means for the notification."""

    status: str | None  # the final notification status; None when the provider status is unknown
    intermediate: bool = False  # "queued", "sent", "ENROUTE": progress, nothing to record


INTERMEDIATE = ReportStatus(status=None, intermediate=True)
UNRECOGNISED = ReportStatus(status=None)


@dataclass(frozen=True)
class IncomingReport:
    """One delivery report as a provider sent it (a webhook, an SMPP receipt), before it is stored."""

    channel: str
    provider: str
    provider_status: str
    mapped: ReportStatus
    reference: str | None = None
    notification_id: uuid.UUID | None = None
    raw: str = ""

    def __post_init__(self) -> None:
        # A provider's text goes into text columns as it came, but for NUL (see ``storable``).
        object.__setattr__(self, "provider_status", storable(self.provider_status))
        object.__setattr__(self, "raw", storable(self.raw))
        if self.reference is not None:
            object.__setattr__(self, "reference", storable(self.reference))


ReportHandler = Callable[[IncomingReport], None]

_report_handler: ReportHandler | None = None


def report_handler_set(handler: ReportHandler | None) -> None:
    """Name the function that stores the delivery reports adapters receive on their own connections.

    Adapters never call the services: the dispatch app wires the report service here at start-up.
    """
    global _report_handler
    _report_handler = handler


def report_hand_over(report: IncomingReport) -> None:
    """Hand one report to the wired handler; raises when it cannot be stored, so the provider can ask
    for it again (an SMPP receipt is answered with a temporary error and redelivered)."""
    if _report_handler is None:
        raise RuntimeError("no delivery report handler is wired (the dispatch app is not ready)")
    _report_handler(report)


M = TypeVar("M", EmailMessage, SmsMessage)


@dataclass
class Outcome(Generic[M]):
    message: M
    result: ProviderResult | None = None
    error: ProviderError | None = None
    started_at: datetime = field(default_factory=timezone.now)
    duration: float = 0.0


class Provider(Generic[M]):
    """Base of all providers: ``send`` one message; ``send_batch`` reuses one connection for many."""

    name: str
    channel: ClassVar[str]  # "Email" or "Sms"
    # A provider without delivery reports (plain SMTP) records its acceptance as the final Delivered;
    # otherwise acceptance is Succeeded / Accepted until the report comes.
    accepted_is_final: bool = False

    @property
    def pause_key(self) -> str:
        return f"{self.channel}:{self.name}"

    def open(self) -> None:
        """Make sure the connection is up; raise ProviderError(attempted=False) when it cannot be."""

    def close(self) -> None:
        """Drop the connection (after a batch, or after an error left it in an unknown state)."""

    def send(self, message: M) -> ProviderResult:
        raise NotImplementedError

    def send_batch(self, messages: Sequence[M]) -> Iterator[Outcome[M]]:
        """Send in order over one connection; yield exactly one outcome per message.

        After an error that stops the batch (throttling, no connection), the remaining messages are
        yielded unattempted with the same pause, so the caller can put them back without charging them.
        """
        stop: ProviderError | None = None
        try:
            self.open()
        except ProviderError as exc:
            stop = exc
        for message in messages:
            if stop is not None:
                yield Outcome(message=message, error=_not_attempted(stop))
                continue
            started, clock = timezone.now(), time.monotonic()
            try:
                result = self.send(message)
            except ProviderError as exc:
                yield Outcome(message, error=exc, started_at=started, duration=time.monotonic() - clock)
                if exc.stops_batch:
                    stop = exc
                continue
            except Exception as exc:
                # An error no provider classified (a library bug, input nobody foresaw): it is charged to
                # this message as a transient failure, so it is retried within its budget and never
                # fails the rest of the batch. The connection's state is unknown: start a new one.
                logger.exception("unclassified error sending with %s", self.name)
                self.close()
                error = ProviderError(f"internal error: {exc.__class__.__name__}: {exc}")
                yield Outcome(message, error=error, started_at=started, duration=time.monotonic() - clock)
                continue
            yield Outcome(message, result=result, started_at=started, duration=time.monotonic() - clock)

    def after_batch(self) -> None:
        """Called when a send run is over (close idle connections, flush buffers)."""


def _not_attempted(cause: ProviderError) -> ProviderError:
    return ProviderError(
        f"not attempted: {cause.message}",
        retry_after=cause.retry_after,
        attempted=False,
    )


def not_attempted_outcomes(messages: Iterable[M], cause: ProviderError) -> Iterator[Outcome[M]]:
    for message in messages:
        yield Outcome(message=message, error=_not_attempted(cause))


class EmailProvider(Provider[EmailMessage]):
    channel = "Email"


class SmsProvider(Provider[SmsMessage]):
    channel = "Sms"
