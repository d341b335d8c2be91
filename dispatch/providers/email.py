"""Email through any Django email backend: SMTP (the production default) or an ESP via django-anymail.

One backend connection is opened when first needed and reused for every message of a batch, and by the
worker's next send run while it has been idle less than ``NOTIFICATIONS_EMAIL_CONNECTION_IDLE_SECONDS``:
an immediate order's run finds the SMTP session open (no TCP connect, banner, EHLO, STARTTLS or AUTH
before its message). A session the server closed meanwhile (an idle timeout's 421, or EOF) shows as a
readable socket and is replaced before anything is sent on it. Each message carries
``Message-ID: <notification id@sender domain>``, the same on every retry, so a resend after a crash can
be recognised downstream; anymail also gets the id as metadata, which most ESPs echo in their tracking
webhooks.

SMTP has no delivery reports: a relay's 250 is the last we hear, so an SMTP acceptance is recorded as
``Delivered`` (the relay has taken responsibility). ESPs report through anymail's normalised tracking
events (:func:`map_anymail_event`), so their acceptance is ``Succeeded`` until the report comes.

A composed email's attachments are fetched just before its message is written
(``dispatch.providers.attachments``) and sent as base64 MIME parts with their names and types; a fetch
failure is that message's outcome, before anything reaches the server.
"""

from __future__ import annotations

import contextlib
import re
import select
import smtplib
import time
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import sanitize_address

from dispatch.providers.attachments import FetchedAttachment, attachments_fetch
from dispatch.providers.base import (
    INTERMEDIATE,
    UNRECOGNISED,
    EmailMessage,
    EmailProvider,
    ProviderError,
    ProviderResult,
    ReportStatus,
)

_ENHANCED_CODE = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")


class DjangoEmailProvider(EmailProvider):
    def __init__(self, *, backend: str, name: str) -> None:
        self.backend = backend
        self.name = name
        self.is_anymail = backend.startswith("anymail.")
        self.accepted_is_final = not self.is_anymail
        self._connection: BaseEmailBackend | None = None
        self._used = 0.0  # time.monotonic() of the connection's last message
        self._opened_with: tuple[Any, ...] = ()  # the SMTP settings the connection was opened with

    def open(self) -> None:
        if self._connection is not None and not self._stale(self._connection):
            return
        self.close()
        connection = get_connection(self.backend, fail_silently=False)
        try:
            connection.open()
        except smtplib.SMTPAuthenticationError as exc:
            raise ProviderError(
                f"SMTP authentication failed: {_text(exc.smtp_error)}", attempted=False
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise ProviderError(f"cannot connect: {exc.__class__.__name__}: {exc}", attempted=False) from exc
        self._connection = connection
        self._used = time.monotonic()
        self._opened_with = _smtp_settings()

    def _stale(self, connection: BaseEmailBackend) -> bool:
        """Whether a kept connection must not be used: closed, idle too long, or closed by the server."""
        if (
            _smtp_closed(connection)
            or (settings.NOTIFICATIONS_EMAIL_CONNECTION_IDLE_SECONDS > 0 and self._idle())
            or self._opened_with != _smtp_settings()  # the server or account changed: not this session
        ):
            return True
        sock = getattr(getattr(connection, "connection", None), "sock", None)
        if sock is None:
            return False  # not an SMTP session (an ESP's HTTP backend): nothing to look at
        try:
            # An idle SMTP session has nothing to read; anything readable is the server's goodbye
            # (a 421 before it closes, or EOF). Zero timeout: no round trip.
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def _idle(self) -> bool:
        limit = float(settings.NOTIFICATIONS_EMAIL_CONNECTION_IDLE_SECONDS)
        return time.monotonic() - self._used >= limit

    def close(self) -> None:
        if self._connection is not None:
            # The server may already have dropped us; closing must still forget the connection.
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None

    def after_batch(self) -> None:
        # The send run is over. Its session is kept for the next run only while it is fresh: SMTP servers
        # drop idle sessions after a few minutes, and a worker with nothing to send closes it here.
        if self._idle():
            self.close()

    def build(
        self, message: EmailMessage, attachments: list[FetchedAttachment] | None = None
    ) -> EmailMultiAlternatives:
        domain = message.from_address.rpartition("@")[2] or "localhost"
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.body,
            from_email=message.from_address,
            to=[message.to],
            headers={"Message-ID": f"<{message.notification_id}@{domain}>"},
            connection=self._connection,
        )
        if message.content_type == "Html":
            email.content_subtype = "html"
        for attachment in attachments or []:
            email.attach(attachment.mime_part())
        if self.is_anymail:
            email.metadata = {"notification_id": str(message.notification_id)}  # type: ignore[attr-defined]
        return email

    def send(self, message: EmailMessage) -> ProviderResult:
        _check_addresses(message)
        attachments = attachments_fetch(message.attachments)
        self.open()
        email = self.build(message, attachments)
        try:
            sent = self._send(email)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()), (0, b""))
            raise _smtp_error(code, _text(text), stage="RCPT") from exc
        except smtplib.SMTPSenderRefused as exc:
            raise _smtp_error(exc.smtp_code, _text(exc.smtp_error), stage="MAIL FROM", sender=True) from exc
        except smtplib.SMTPDataError as exc:
            raise _smtp_error(exc.smtp_code, _text(exc.smtp_error), stage="DATA") from exc
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            # Dropped mid-message: the server may or may not have it. Transient; reconnect next time.
            self.close()
            raise ProviderError(f"connection lost: {exc.__class__.__name__}: {exc}") from exc
        except ValueError as exc:
            # The email library refused to write this message (a header with a line break, text it
            # cannot encode): the message's fault, not the server's, so it fails alone and for good.
            # smtplib may have sent MAIL FROM already; a new session keeps the next message clean.
            self.close()
            raise ProviderError(
                f"message cannot be written: {exc.__class__.__name__}: {exc}", permanent=True, status="Failed"
            ) from exc
        finally:
            if self._connection is not None and _smtp_closed(self._connection):
                self.close()  # smtplib closed the session itself (a 421): start a new one next time
        self._used = time.monotonic()
        if not sent:
            raise ProviderError("the backend reported nothing sent")
        return ProviderResult(reference=self._reference(email, message), raw=self._raw(email))

    def _send(self, email: EmailMultiAlternatives) -> int:
        if not self.is_anymail:
            return email.send(fail_silently=False)
        from anymail.exceptions import AnymailError

        try:
            return email.send(fail_silently=False)
        except AnymailError as exc:
            # Classified here: anymail's HTTP errors are also OSErrors, which would read as a lost connection.
            raise _anymail_error(exc) from exc

    def _reference(self, email: EmailMultiAlternatives, message: EmailMessage) -> str:
        status = getattr(email, "anymail_status", None)
        if status is not None and status.message_id:
            return str(status.message_id)
        return str(email.extra_headers["Message-ID"]).strip("<>")

    def _raw(self, email: EmailMultiAlternatives) -> str:
        status = getattr(email, "anymail_status", None)
        if status is None:
            return "250 accepted"
        response = getattr(status, "esp_response", None)
        text = getattr(response, "text", None)
        return str(text if text is not None else status.status)


def _check_addresses(message: EmailMessage) -> None:
    """Refuse, before anything is sent, an address the email library would refuse mid-batch.

    ``sanitize_address`` is what Django's SMTP backend runs on every address; its ValueError (a line
    break, a second address, a ";") belongs to this one message. Rows registered before senders were
    validated can still hold such an address.
    """
    for address, what, status in (
        (message.from_address, "sender", "Failed"),
        (message.to, "recipient", "Failed_InvalidEmailFormat"),
    ):
        try:
            sanitize_address(address, "utf-8")
        except ValueError as exc:
            text = f"invalid {what} address: {exc}"
            raise ProviderError(text, permanent=True, status=status, raw=text) from exc


def _smtp_closed(connection: BaseEmailBackend) -> bool:
    smtp = getattr(connection, "connection", False)
    return smtp is None or (smtp is not False and getattr(smtp, "sock", None) is None)


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _smtp_error(code: int, text: str, *, stage: str, sender: bool = False) -> ProviderError:
    """Classify an SMTP reply (RFC 5321 reply codes, RFC 3463 enhanced status codes)."""
    raw = f"{code} {text}".strip()
    message = f"{stage} refused: {raw}"
    enhanced = _ENHANCED_CODE.search(text)
    klass, subject = (enhanced.group(1), enhanced.group(2)) if enhanced else (str(code)[:1], "")
    if code == 421 or (klass == "4" and subject == "7") or code == 452 and "4.5.3" in text:
        # 421 and 4.7.x are how SMTP servers throttle; they name no reset time.
        return ProviderError(message, retry_after=settings.NOTIFICATIONS_PROVIDER_THROTTLE_SECONDS, raw=raw)
    if klass == "4" or 400 <= code < 500:
        return ProviderError(message, raw=raw)
    if sender:
        return ProviderError(message, permanent=True, status="Failed", raw=raw)
    detail = enhanced.group(0) if enhanced else ""
    if detail in ("5.1.3",) or code == 501 or code == 553 and not detail.startswith("5.1.1"):
        status = "Failed_InvalidEmailFormat"
    elif detail.startswith("5.1.") or code in (550, 551):
        status = "Failed_Bounced"
    elif detail.startswith("5.7.") and "spam" in text.lower():
        status = "Failed_FilteredSpam"
    else:
        status = "Failed"
    return ProviderError(message, permanent=True, status=status, raw=raw)


def _anymail_error(exc: Exception) -> ProviderError:
    from anymail.exceptions import (
        AnymailAPIError,
        AnymailInvalidAddress,
        AnymailRecipientsRefused,
    )

    text = str(exc)
    if isinstance(exc, AnymailInvalidAddress):
        return ProviderError(text, permanent=True, status="Failed_InvalidEmailFormat", raw=text)
    if isinstance(exc, AnymailRecipientsRefused):
        status = "Failed_SupressedRecipient"
        statuses = getattr(getattr(exc, "email_message", None), "anymail_status", None)
        if statuses is not None and "invalid" in (statuses.status or set()):
            status = "Failed_InvalidEmailFormat"
        return ProviderError(text, permanent=True, status=status, raw=text)
    if isinstance(exc, AnymailAPIError):
        code = exc.status_code
        response: Any = getattr(exc, "response", None)
        if code == 429:
            return ProviderError(text, retry_after=_retry_after(response), raw=text)
        if code is None or code >= 500 or code in (408, 409):
            return ProviderError(text, raw=text)
        if code in (401, 403):
            # Our credentials, not the message: hold the batch, keep the budget.
            return ProviderError(text, attempted=False, raw=text)
        return ProviderError(text, permanent=True, status="Failed", raw=text)
    return ProviderError(f"{exc.__class__.__name__}: {text}", raw=text)


def _retry_after(response: Any) -> float:
    headers = getattr(response, "headers", None) or {}
    value = headers.get("Retry-After")
    try:
        return max(0.0, float(str(value)))
    except (TypeError, ValueError):
        return float(settings.NOTIFICATIONS_PROVIDER_THROTTLE_SECONDS)


# --- delivery reports (anymail tracking events) ------------------------------------------------------

_EVENTS = {
    "delivered": "Delivered",
    "failed": "Failed",
}
_INTERMEDIATE_EVENTS = {
    "queued",
    "sent",
    "deferred",
    "opened",
    "clicked",
    "autoresponded",
    "subscribed",
    "unsubscribed",
    "complained",  # after delivery: the recipient's opinion, not a delivery status
}
_REJECTED = {
    "invalid": "Failed_InvalidEmailFormat",
    "spam": "Failed_FilteredSpam",
    "bounced": "Failed_SupressedRecipient",
    "timed_out": "Failed_SupressedRecipient",
    "unsubscribed": "Failed_SupressedRecipient",
    "blocked": "Failed_SupressedRecipient",
}
_BOUNCED = {
    "invalid": "Failed_InvalidEmailFormat",
    "spam": "Failed_FilteredSpam",
    "blocked": "Failed_Quarantined",
}


def map_anymail_event(event_type: str, reject_reason: str | None) -> ReportStatus:
    """Map anymail's normalised tracking event to an email status.

    ``rejected`` is the ESP refusing to send (its suppression list, a bad address); ``bounced`` is the
    receiving side refusing it, where a policy block (``blocked``) is the receiver holding the message
    back, our ``Failed_Quarantined``.
    """
    if event_type in _EVENTS:
        return ReportStatus(status=_EVENTS[event_type])
    if event_type in _INTERMEDIATE_EVENTS:
        return INTERMEDIATE
    if event_type == "rejected":
        return ReportStatus(status=_REJECTED.get(reject_reason or "", "Failed"))
    if event_type == "bounced":
        return ReportStatus(status=_BOUNCED.get(reject_reason or "", "Failed_Bounced"))
    return UNRECOGNISED


def _smtp_settings() -> tuple[Any, ...]:
    """The settings an SMTP session is opened with: a kept session serves only while they are the same."""
    return (
        settings.EMAIL_HOST,
        settings.EMAIL_PORT,
        settings.EMAIL_HOST_USER,
        settings.EMAIL_HOST_PASSWORD,
        settings.EMAIL_USE_TLS,
        settings.EMAIL_USE_SSL,
    )
