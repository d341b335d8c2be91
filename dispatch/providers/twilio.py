"""SMS over Twilio's Messages REST API (httpx, one pooled client per worker process).

Each message asks for a status callback to the Twilio webhook with our notification id in the query
(``?n=<id>``), so a report matches even when it overtakes the send result. The webhook checks
``X-Twilio-Signature`` (HMAC-SHA1 of the URL and the sorted form parameters, keyed with the auth token).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from dispatch.providers.base import (
    INTERMEDIATE,
    UNRECOGNISED,
    ProviderError,
    ProviderResult,
    ReportStatus,
    SmsMessage,
    SmsProvider,
)

# Error codes of a refused request (https://www.twilio.com/docs/api/errors) → final status.
SEND_ERRORS = {
    21211: "Failed_InvalidRecipient",  # invalid 'To' number
    21614: "Failed_InvalidRecipient",  # 'To' is not a mobile number
    21612: "Failed_InvalidRecipient",  # cannot route to this number
    21610: "Failed_BarredReceiver",  # the recipient replied STOP
    21408: "Failed_Rejected",  # no permission to send to the region
    21606: "Failed_Rejected",  # the 'From' cannot send
}
# Delivery error codes of an undelivered or failed message.
DELIVERY_ERRORS = {
    30003: "Failed_Undelivered",  # unreachable handset
    30004: "Failed_BarredReceiver",  # blocked
    30005: "Failed_InvalidRecipient",  # unknown destination
    30006: "Failed_InvalidRecipient",  # landline or unreachable carrier
    30007: "Failed_Rejected",  # filtered by the carrier
    30008: "Failed_Undelivered",  # unknown error
}
INTERMEDIATE_STATUSES = {
    "queued",
    "accepted",
    "scheduled",
    "sending",
    "sent",
    "read",
    "receiving",
    "received",
}


def map_status(status: str, error_code: str | None) -> ReportStatus:
    status = status.lower()
    if status in INTERMEDIATE_STATUSES:
        return INTERMEDIATE
    code = int(error_code) if error_code and error_code.isdigit() else None
    if status == "delivered":
        return ReportStatus(status="Delivered")
    if status == "undelivered":
        return ReportStatus(status=DELIVERY_ERRORS.get(code or 0, "Failed_Undelivered"))
    if status == "failed":
        return ReportStatus(status=DELIVERY_ERRORS.get(code or 0, "Failed"))
    if status == "canceled":
        return ReportStatus(status="Failed_Deleted")
    return UNRECOGNISED


def signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Twilio's request signature: base64(HMAC-SHA1(token, url + key1 + value1 + key2 + ...))."""
    payload = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def callback_base() -> str:
    return (settings.NOTIFICATIONS_TWILIO_CALLBACK_BASE_URI or settings.NOTIFICATIONS_BASE_URI).rstrip("/")


class TwilioProvider(SmsProvider):
    name = "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        api_base: str = "https://api.twilio.com",
        messaging_service_sid: str = "",
        timeout: float = 10.0,
        throttle_seconds: float = 60.0,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.api_base = api_base.rstrip("/")
        self.messaging_service_sid = messaging_service_sid
        self.timeout = timeout
        self.throttle_seconds = throttle_seconds
        self._client: httpx.Client | None = None

    @classmethod
    def from_settings(cls) -> TwilioProvider:
        if not (settings.NOTIFICATIONS_TWILIO_ACCOUNT_SID and settings.NOTIFICATIONS_TWILIO_AUTH_TOKEN):
            raise ImproperlyConfigured(
                "NOTIFICATIONS_TWILIO_ACCOUNT_SID and NOTIFICATIONS_TWILIO_AUTH_TOKEN are required "
                "with the twilio SMS provider"
            )
        return cls(
            account_sid=settings.NOTIFICATIONS_TWILIO_ACCOUNT_SID,
            auth_token=settings.NOTIFICATIONS_TWILIO_AUTH_TOKEN,
            api_base=settings.NOTIFICATIONS_TWILIO_API_BASE,
            messaging_service_sid=settings.NOTIFICATIONS_TWILIO_MESSAGING_SERVICE_SID,
            timeout=settings.NOTIFICATIONS_TWILIO_TIMEOUT_SECONDS,
            throttle_seconds=settings.NOTIFICATIONS_PROVIDER_THROTTLE_SECONDS,
        )

    def open(self) -> None:
        if self._client is None:
            # Keep-alive pool: the TLS handshake is paid once per worker, not per message.
            self._client = httpx.Client(
                base_url=self.api_base,
                auth=(self.account_sid, self.auth_token),
                timeout=self.timeout,
                headers={"User-Agent": "notifications-service"},
            )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def send(self, message: SmsMessage) -> ProviderResult:
        self.open()
        assert self._client is not None
        callback = callback_base() + reverse("webhook-twilio") + f"?n={message.notification_id}"
        data = {"To": message.to_e164, "Body": message.body, "StatusCallback": callback}
        if self.messaging_service_sid:
            data["MessagingServiceSid"] = self.messaging_service_sid
        else:
            sender = message.sender.strip().replace(" ", "")
            # An international number as E.164; an alphanumeric sender or a short code as it is.
            data["From"] = "+" + sender[2:] if sender.startswith("00") and sender.isdigit() else sender
        try:
            response = self._client.post(f"/2010-04-01/Accounts/{self.account_sid}/Messages.json", data=data)
        except httpx.ConnectError as exc:
            raise ProviderError(f"cannot connect to Twilio: {exc}", attempted=False) from exc
        except httpx.HTTPError as exc:
            # A timeout or a broken response: the message may have been created. Transient.
            raise ProviderError(f"Twilio request failed: {exc.__class__.__name__}: {exc}") from exc
        return self._result(response)

    def _result(self, response: httpx.Response) -> ProviderResult:
        raw = f"{response.status_code} {response.text[:2000]}"
        body = _json(response)
        if response.status_code in (200, 201) and body.get("sid"):
            return ProviderResult(reference=str(body["sid"]), raw=raw)
        code = body.get("code")
        text = f"Twilio {response.status_code}: {body.get('message') or response.reason_phrase} (code {code})"
        if response.status_code == 429 or code == 20429:
            return_after = _retry_after(response, self.throttle_seconds)
            raise ProviderError(text, retry_after=return_after, raw=raw)
        if response.status_code >= 500 or response.status_code in (200, 201):
            raise ProviderError(text, raw=raw)
        if response.status_code in (401, 403):
            raise ProviderError(text, attempted=False, raw=raw)  # our credentials: hold, keep the budget
        status = SEND_ERRORS.get(code, "Failed") if isinstance(code, int) else "Failed"
        raise ProviderError(text, permanent=True, status=status, raw=raw)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _retry_after(response: httpx.Response, default: float) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return default
