"""Signing secrets of status callbacks, one set per creator.

The newest active secret signs. ``callback_secret_rotate`` adds a new one; the one before it keeps
co-signing (a second ``v1`` in the header) for ``NOTIFICATIONS_CALLBACK_SECRET_GRACE_HOURS``, so a receiver
can switch to the new secret without a moment in which nothing verifies. Deactivating a secret in the
admin stops its use at once.
"""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, transaction
from django.utils import timezone

from dispatch.models import CallbackSecret
from orders.audit import AuditAction, AuditOutcome, audit_record

logger = logging.getLogger(__name__)


def _new_secret() -> str:
    return "ncs_" + secrets.token_urlsafe(32)


def callback_secret_create(*, creator: str, now: datetime | None = None) -> CallbackSecret:
    """A new active signing secret for ``creator``; it signs from now on (the previous one co-signs)."""
    return CallbackSecret.objects.create(
        creator=creator, secret=_new_secret(), created_at=now or timezone.now(), active=True
    )


def callback_secret_get_or_create(*, creator: str) -> CallbackSecret:
    """The creator's newest active secret, created on first use.

    A transaction-scoped advisory lock per creator keeps two workers from creating two "first" secrets.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"callback-secret:{creator}"])
        current = CallbackSecret.objects.filter(creator=creator, active=True).order_by("-created_at").first()
        return current or callback_secret_create(creator=creator)


def callback_secret_rotate(
    *, creator: str, actor: AbstractBaseUser | AnonymousUser | None = None
) -> CallbackSecret:
    """Start signing with a new secret; the previous one co-signs for the grace period. Audited."""
    with transaction.atomic():
        previous = CallbackSecret.objects.filter(creator=creator, active=True).order_by("-created_at").first()
        secret = callback_secret_create(creator=creator)
        audit_record(
            actor=actor,
            action=AuditAction.CALLBACK_SECRET_CHANGE,
            outcome=AuditOutcome.DONE,
            target=secret,
            details={"creator": creator, "rotated": True, "previous": previous.pk if previous else None},
        )
    logger.info("callback secret of %s rotated", creator, extra={"creator": creator})
    return secret


def callback_secret_deactivate(
    *, secret: CallbackSecret, actor: AbstractBaseUser | AnonymousUser | None = None
) -> bool:
    """Stop signing with a secret at once (it leaked, or the grace period should end early). Audited.

    Returns False when it was inactive already. Deactivating the newest makes the newest remaining
    active secret sign; without one, a new secret is made on the next delivery.
    """
    with transaction.atomic():
        changed = CallbackSecret.objects.filter(id=secret.id, active=True).update(active=False)
        audit_record(
            actor=actor,
            action=AuditAction.CALLBACK_SECRET_CHANGE,
            outcome=AuditOutcome.DONE if changed else AuditOutcome.REFUSED,
            target=secret,
            details={"creator": secret.creator, "deactivated": bool(changed)},
        )
    return bool(changed)


def callback_signing_secrets(*, creators: Iterable[str], now: datetime | None = None) -> dict[str, list[str]]:
    """Per creator, the secrets to sign with: the newest active one, and within the grace period after a
    rotation also the active one before it."""
    now = now or timezone.now()
    grace = timedelta(hours=settings.NOTIFICATIONS_CALLBACK_SECRET_GRACE_HOURS)
    wanted = set(creators)
    found: dict[str, list[CallbackSecret]] = defaultdict(list)
    for row in CallbackSecret.objects.filter(creator__in=wanted, active=True).order_by("-created_at"):
        found[row.creator].append(row)
    result: dict[str, list[str]] = {}
    for creator in wanted:
        rows = found.get(creator) or [callback_secret_get_or_create(creator=creator)]
        newest = rows[0]
        signing = [newest.secret]
        if len(rows) > 1 and newest.created_at > now - grace:
            signing.append(rows[1].secret)
        result[creator] = signing
    return result
