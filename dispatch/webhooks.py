"""Delivery-report webhooks, one per provider that reports over HTTP, authenticated as it signs.

Every request is authenticated before its content is interpreted: 401 (problem details) without valid
credentials, 413 for a body over ``NOTIFICATIONS_WEBHOOK_MAX_BYTES`` (judged by its Content-Length, before
anything is read), 400 for a body that is not a report, 503 when the database cannot take it (the provider
retries), 204 once the report is stored. A report that cannot be applied is still stored (dead, with a
reason): the provider is never asked to resend what we cannot use.

Twilio signs the form fields, so its body has to be read to check the signature: it is split into fields
by ``urllib.parse`` alone (nothing of it is used yet) and a body that cannot be split is a 401 like any
other unverifiable request, never a 400 to an unauthenticated caller.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import uuid
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.problems import DependencyUnavailable, problem_json
from dispatch.providers import twilio
from dispatch.providers.base import IncomingReport
from dispatch.providers.email import map_anymail_event
from dispatch.services.report_batches import delivery_reports_receive
from dispatch.services.reports import delivery_report_receive

logger = logging.getLogger(__name__)


def _unauthorized(detail: str, *, basic: bool = False) -> JsonResponse:
    if basic:
        return problem_json(
            401, "Unauthorized", detail, headers={"WWW-Authenticate": 'Basic realm="delivery-reports"'}
        )
    return problem_json(401, "Unauthorized", detail)


def _unavailable() -> JsonResponse:
    return problem_json(503, DependencyUnavailable.title, headers={"Retry-After": "30"})


def _too_large(request: HttpRequest) -> JsonResponse | None:
    """413 when the declared body is over the webhook limit; None when it may be read."""
    limit = settings.NOTIFICATIONS_WEBHOOK_MAX_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0  # Django reads such a body as empty
    if length > limit:
        return problem_json(413, "Payload Too Large", f"A delivery report is at most {limit} bytes.")
    return None


def _form_fields(request: HttpRequest) -> dict[str, str] | None:
    """The form fields of the body (the last value of a repeated one), or None when it is not a form."""
    if request.content_type == "multipart/form-data":
        try:
            return {key: request.POST.get(key, "") for key in request.POST}
        except (MultiPartParserError, SuspiciousOperation):
            return None
    try:
        pairs = parse_qsl(
            request.body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=bool(request.body),
            max_num_fields=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        return None
    return dict(pairs)


# --- Twilio -------------------------------------------------------------------------------------------


@csrf_exempt
@require_POST
def twilio_status(request: HttpRequest) -> HttpResponse:
    """Twilio's status callback for a message we sent (form-encoded, signed with the auth token)."""
    token = settings.NOTIFICATIONS_TWILIO_AUTH_TOKEN
    given = request.headers.get("X-Twilio-Signature", "")
    if not token or not given:
        return _unauthorized("missing X-Twilio-Signature")
    too_large = _too_large(request)
    if too_large is not None:
        return too_large
    params = _form_fields(request)
    url = twilio.callback_base() + request.get_full_path()
    if params is None or not constant_time_compare(given, twilio.signature(token, url, params)):
        return _unauthorized("invalid X-Twilio-Signature")
    sid, status = (
        params.get("MessageSid") or params.get("SmsSid"),
        params.get("MessageStatus") or params.get("SmsStatus"),
    )
    if not sid or not status:
        return problem_json(400, "Bad Request", "MessageSid and MessageStatus are required")
    notification_id: uuid.UUID | None = None
    if request.GET.get("n"):
        try:
            notification_id = uuid.UUID(request.GET["n"])
        except ValueError:
            return problem_json(400, "Bad Request", "n is not a notification id")
    try:
        delivery_report_receive(
            report=IncomingReport(
                channel="Sms",
                provider="twilio",
                provider_status=status,
                mapped=twilio.map_status(status, params.get("ErrorCode")),
                reference=sid,
                notification_id=notification_id,
                raw=json.dumps(params, sort_keys=True),
            )
        )
    except DatabaseError:
        logger.exception("could not store a Twilio status callback")
        return _unavailable()
    return HttpResponse(status=204)


# --- ESPs through django-anymail ---------------------------------------------------------------------


def _basic_auth_ok(request: HttpRequest) -> bool:
    secrets = settings.ANYMAIL.get("WEBHOOK_SECRET") or []
    allowed = [secrets] if isinstance(secrets, str) else list(secrets)
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not allowed:
        return False
    try:
        given = base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return False
    # Every candidate is compared, so the time taken does not say which one nearly matched.
    return any([constant_time_compare(given, candidate) for candidate in allowed])


def _anymail_view(esp: str) -> Any:
    from anymail import urls as anymail_urls

    for pattern in anymail_urls.urlpatterns:
        if getattr(pattern, "name", None) == f"{esp}_tracking_webhook":
            return pattern.callback.view_class
    raise Http404


@csrf_exempt
@require_POST
def anymail_tracking(request: HttpRequest, esp: str) -> HttpResponse:
    """The configured ESP's tracking webhook, normalised by anymail (HTTP Basic, plus the ESP's signature)."""
    from anymail.exceptions import AnymailError, AnymailWebhookValidationFailure

    if esp != settings.NOTIFICATIONS_ANYMAIL_ESP:
        raise Http404
    if not _basic_auth_ok(request):
        return _unauthorized("missing or wrong credentials", basic=True)
    too_large = _too_large(request)
    if too_large is not None:
        return too_large
    view = _anymail_view(esp)()
    try:
        view.run_validators(request)  # the ESP's own signature check, where it has one
    except AnymailWebhookValidationFailure as exc:
        return _unauthorized(str(exc), basic=True)
    try:
        events = view.parse_events(request)
    except (AnymailError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return problem_json(400, "Bad Request", f"not a {esp} tracking event: {exc.__class__.__name__}")
    reports = []
    for event in events:
        metadata = event.metadata or {}
        notification_id: uuid.UUID | None = None
        try:
            notification_id = (
                uuid.UUID(str(metadata.get("notification_id"))) if metadata.get("notification_id") else None
            )
        except ValueError:
            notification_id = None
        reports.append(
            IncomingReport(
                channel="Email",
                provider=esp,
                provider_status=f"{event.event_type}/{event.reject_reason or ''}".rstrip("/"),
                mapped=map_anymail_event(event.event_type, event.reject_reason),
                reference=event.message_id,
                notification_id=notification_id,
                raw=json.dumps(event.esp_event, default=str)[:20000],
            )
        )
    try:
        # ESPs that batch (SparkPost, SendGrid, Mailjet: hundreds of events per request) are applied
        # together: one transaction and a fixed number of queries per request, not per event.
        delivery_reports_receive(reports=reports)
    except DatabaseError:
        logger.exception("could not store an anymail tracking event")
        return _unavailable()
    return HttpResponse(status=204)
