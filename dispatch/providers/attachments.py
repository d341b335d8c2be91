"""Fetching a composed email's attachments when it is sent, and turning them into MIME parts.

Each file is downloaded over HTTPS through the outbound guard (``core.outbound``: no private, loopback
or link-local address unless ``NOTIFICATIONS_OUTBOUND_ALLOWED_NETWORKS`` allows it), from a host in
``NOTIFICATIONS_ATTACHMENT_ALLOWED_HOSTS`` when that list is set, streamed and abandoned as soon as it is
over ``NOTIFICATIONS_ATTACHMENT_MAX_BYTES`` or the message's attachments together are over
``NOTIFICATIONS_ATTACHMENT_MAX_TOTAL_BYTES``. It runs in the send loop, outside any database
transaction, under the batch's lease.

Outcomes are provider errors, so the sending service records them like any other:

* the link is refused or answers 3xx/4xx (expired signature: 403; gone: 404), the host or the declared
  type is not allowed, or the server names another type → permanent ``Failed_InvalidAttachment``;
* too large → permanent ``Failed_PayloadTooLarge``;
* 408, 429, 5xx, a timeout or a dropped connection → transient: retried with backoff within
  ``NOTIFICATIONS_SEND_MAX_ATTEMPTS``, then ``Failed``.

Links are signed URLs whose query string is a credential: errors name the file and the host, never the
URL.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from email import encoders
from email.mime.base import MIMEBase

import httpx
from django.conf import settings

from core.outbound import GuardedClient, OutboundRequestError, check_url
from dispatch.providers.base import AttachmentReference, ProviderError
from orders.attachment_rules import host_is_allowed, mime_type_is_allowed

INVALID = "Failed_InvalidAttachment"
TOO_LARGE = "Failed_PayloadTooLarge"
# Blob stores serve files they know nothing about as octet-stream: that says nothing against the
# declared type.
_UNTYPED = frozenset({"application/octet-stream", "binary/octet-stream"})
_TRANSIENT_CODES = frozenset({408, 429})


@dataclass(frozen=True)
class FetchedAttachment:
    filename: str
    mime_type: str
    content: bytes

    def mime_part(self) -> MIMEBase:
        """The file as a base64 MIME part with its name: the bytes go out exactly as fetched."""
        maintype, _, subtype = self.mime_type.lower().partition("/")
        part = MIMEBase(maintype, subtype)
        part.set_payload(self.content)
        encoders.encode_base64(part)
        filename: str | tuple[str, str, str] = self.filename
        if not self.filename.isascii():
            filename = ("utf-8", "", self.filename)  # RFC 2231
        part.add_header("Content-Disposition", "attachment", filename=filename)
        return part


def _invalid(reference: AttachmentReference, why: str) -> ProviderError:
    text = f"attachment {reference.filename!r}: {why}"
    return ProviderError(text, permanent=True, status=INVALID, raw=text)


def _too_large(reference: AttachmentReference, why: str) -> ProviderError:
    text = f"attachment {reference.filename!r}: {why}"
    return ProviderError(text, permanent=True, status=TOO_LARGE, raw=text)


def _transient(reference: AttachmentReference, why: str) -> ProviderError:
    text = f"attachment {reference.filename!r}: {why}"
    return ProviderError(text, raw=text)


def _verify() -> ssl.SSLContext | bool:
    ca_file = settings.NOTIFICATIONS_ATTACHMENT_CA_FILE
    return ssl.create_default_context(cafile=ca_file) if ca_file else True


def attachments_fetch(references: Sequence[AttachmentReference]) -> list[FetchedAttachment]:
    """Download every attachment of one email, in order; raise ProviderError at the first failure."""
    if not references:
        return []
    timeout = float(settings.NOTIFICATIONS_ATTACHMENT_TIMEOUT_SECONDS)
    remaining = int(settings.NOTIFICATIONS_ATTACHMENT_MAX_TOTAL_BYTES)
    fetched: list[FetchedAttachment] = []
    with GuardedClient(timeout=timeout, verify=_verify()) as client:
        for reference in references:
            content = _fetch_one(client, reference, timeout=timeout, remaining=remaining)
            remaining -= len(content)
            fetched.append(FetchedAttachment(reference.filename, reference.mime_type, content))
    return fetched


def _fetch_one(
    client: GuardedClient, reference: AttachmentReference, *, timeout: float, remaining: int
) -> bytes:
    _check_reference(reference)
    per_file = int(settings.NOTIFICATIONS_ATTACHMENT_MAX_BYTES)
    limit = min(per_file, remaining)
    # The read timeout bounds each wait; this bounds the whole file (a server trickling bytes forever).
    deadline = time.monotonic() + timeout
    host = httpx.URL(reference.url).host
    try:
        with client.stream("GET", reference.url, follow_redirects=False) as response:
            _check_response(reference, response, host)
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limit:
                raise _too_large(reference, _over(per_file, remaining))
            body = bytearray()
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > limit:
                    raise _too_large(reference, _over(per_file, remaining))
                if time.monotonic() > deadline:
                    raise _transient(reference, f"download from {host} took longer than {timeout:g} s")
            return bytes(body)
    except OutboundRequestError as exc:
        if exc.blocked:
            raise _invalid(reference, f"the host {host} is not allowed: {exc}") from exc
        raise _transient(reference, str(exc)) from exc
    except httpx.HTTPError as exc:
        raise _transient(reference, f"{exc.__class__.__name__} fetching from {host}") from exc


def _check_reference(reference: AttachmentReference) -> None:
    """What can be judged before connecting (checked again here: settings may have changed since POST)."""
    try:
        check_url(reference.url)
    except OutboundRequestError as exc:
        raise _invalid(reference, "the link is not a valid URL") from exc
    url = httpx.URL(reference.url)
    if url.scheme != "https":
        raise _invalid(reference, "the link is not HTTPS")
    if not host_is_allowed(url.host):
        raise _invalid(reference, f"the host {url.host} is not in NOTIFICATIONS_ATTACHMENT_ALLOWED_HOSTS")
    if not mime_type_is_allowed(reference.mime_type):
        raise _invalid(reference, f"the type {reference.mime_type} is not allowed")


def _check_response(reference: AttachmentReference, response: httpx.Response, host: str) -> None:
    code = response.status_code
    if code >= 500 or code in _TRANSIENT_CODES:
        raise _transient(reference, f"{host} answered {code}")
    if code != 200:
        # 3xx (not followed: a signed link has no business redirecting), 403 (expired signature), 404 ...
        raise _invalid(reference, f"{host} answered {code}")
    served = response.headers.get("Content-Type", "").partition(";")[0].strip().lower()
    if served and served not in _UNTYPED and served != reference.mime_type.lower():
        raise _invalid(reference, f"{host} serves it as {served}, not {reference.mime_type}")


def _over(per_file: int, remaining: int) -> str:
    if per_file <= remaining:
        return f"larger than {per_file} bytes (NOTIFICATIONS_ATTACHMENT_MAX_BYTES)"
    total = settings.NOTIFICATIONS_ATTACHMENT_MAX_TOTAL_BYTES
    return f"the attachments together are over {total} bytes (NOTIFICATIONS_ATTACHMENT_MAX_TOTAL_BYTES)"
