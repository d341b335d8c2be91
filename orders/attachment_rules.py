"""Which attachment links and types are allowed: checked when a composed email is registered (400) and
again when it is sent (the settings may have changed in between)."""

from __future__ import annotations

from django.conf import settings


def host_is_allowed(host: str) -> bool:
    """True when no host allow-list is set, or ``host`` is on it (``*.example.com`` covers subdomains)."""
    allowed = [entry.strip().lower() for entry in settings.NOTIFICATIONS_ATTACHMENT_ALLOWED_HOSTS if entry]
    if not allowed:
        return True
    host = host.lower().rstrip(".")
    for entry in allowed:
        if entry.startswith("*."):
            if host.endswith(entry[1:]):
                return True
        elif host == entry:
            return True
    return False


def mime_type_is_allowed(mime_type: str) -> bool:
    """Compared case-insensitively, as the reference does."""
    return mime_type.lower() in {m.strip().lower() for m in settings.NOTIFICATIONS_ATTACHMENT_MIME_TYPES}
