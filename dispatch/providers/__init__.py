"""Provider adapters, one module each, chosen per channel by settings.

``NOTIFICATIONS_EMAIL_PROVIDER``: ``sandbox`` | ``smtp`` | ``anymail`` | a dotted Django email backend.
``NOTIFICATIONS_SMS_PROVIDER``: ``sandbox`` | ``smpp`` | ``twilio``; or several with weights in
``NOTIFICATIONS_SMS_PROVIDERS`` (``smpp:3,twilio:1``), chosen per batch by ``dispatch.services.failover``.

Instances are cached per process (a Celery prefork child builds its own after the fork), so each
worker reuses one SMTP session, one HTTP client or one SMPP bind across batches.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from dispatch.providers.base import EmailProvider, SmsProvider

_instances: dict[tuple[str, str, int], Any] = {}


def email_provider() -> EmailProvider:
    name = settings.NOTIFICATIONS_EMAIL_PROVIDER
    key = ("Email", name, os.getpid())
    if key not in _instances:
        _instances[key] = _build_email(name)
    provider: EmailProvider = _instances[key]
    return provider


def sms_provider(name: str | None = None) -> SmsProvider:
    """The SMS provider ``name``; by default the first of NOTIFICATIONS_SMS_PROVIDERS (or the one of
    NOTIFICATIONS_SMS_PROVIDER). The sender picks among several with ``dispatch.services.failover``."""
    if name is None:
        configured = settings.NOTIFICATIONS_SMS_PROVIDERS
        name = configured[0][0] if configured else settings.NOTIFICATIONS_SMS_PROVIDER
    key = ("Sms", name, os.getpid())
    if key not in _instances:
        _instances[key] = _build_sms(name)
    provider: SmsProvider = _instances[key]
    return provider


def reset_providers() -> None:
    """Close and forget every cached provider (settings changed, or a test wants a fresh one)."""
    for provider in _instances.values():
        # Closing a broken connection must not stop us from forgetting it.
        with contextlib.suppress(Exception):
            provider.close()
    _instances.clear()


def _build_email(name: str) -> EmailProvider:
    from dispatch.providers.email import DjangoEmailProvider
    from dispatch.providers.sandbox import SandboxEmailProvider

    if name == "sandbox":
        return SandboxEmailProvider()
    if name == "smtp":
        return DjangoEmailProvider(backend="django.core.mail.backends.smtp.EmailBackend", name="smtp")
    if name == "anymail":
        esp = settings.NOTIFICATIONS_ANYMAIL_ESP
        if not esp:
            raise ImproperlyConfigured("NOTIFICATIONS_ANYMAIL_ESP is required with the anymail provider")
        return DjangoEmailProvider(backend=f"anymail.backends.{esp}.EmailBackend", name=esp)
    if "." in name:
        return DjangoEmailProvider(backend=name, name=name.rsplit(".", 2)[-2])
    raise ImproperlyConfigured(f"unknown NOTIFICATIONS_EMAIL_PROVIDER {name!r}")


def _build_sms(name: str) -> SmsProvider:
    from dispatch.providers.sandbox import SandboxSmsProvider

    if name == "sandbox":
        return SandboxSmsProvider()
    if name == "smpp":
        from dispatch.providers.smpp.provider import SmppProvider

        return SmppProvider.from_settings()
    if name == "twilio":
        from dispatch.providers.twilio import TwilioProvider

        return TwilioProvider.from_settings()
    raise ImproperlyConfigured(f"unknown NOTIFICATIONS_SMS_PROVIDER {name!r}")
