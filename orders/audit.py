"""The audit log of staff operations: who retried, cancelled, re-applied or changed what, and how it ended.

Written by the services that staff trigger (retry, cancel, registry changes, report re-apply), never by
hand: the admin shows the log read-only. Refusals are recorded too, so "who tried what" is complete.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models


class AuditAction(models.TextChoices):
    NOTIFICATION_RETRY = "notification_retry", "Notification retry"
    ORDER_CANCEL = "order_cancel", "Order cancel"
    REGISTRY_ADD = "registry_add", "Registry entry added"
    REGISTRY_CHANGE = "registry_change", "Registry entry changed"
    REGISTRY_DELETE = "registry_delete", "Registry entry deleted"
    REGISTRY_IMPORT = "registry_import", "Registry CSV import"
    REPORT_REAPPLY = "report_reapply", "Delivery report re-applied"
    CALLBACK_RESEND = "callback_resend", "Status callback re-sent"
    CALLBACK_SECRET_CHANGE = "callback_secret_change", "Callback secret rotated or deactivated"
    SUPPORT_LOOKUP = "support_lookup", "Support lookup of a recipient's notifications"


class AuditOutcome(models.TextChoices):
    DONE = "done", "Done"
    REFUSED = "refused", "Refused"
    FAILED = "failed", "Failed"


class AuditEntry(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    # The user may be deleted later; the username is kept so the entry still says who it was.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_username = models.CharField(max_length=150)
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    # The target as "app_label.model" and its primary key as text (UUIDs and integer ids alike).
    target_type = models.CharField(max_length=100, blank=True, default="")
    target_id = models.CharField(max_length=64, blank=True, default="")
    outcome = models.CharField(max_length=16, choices=AuditOutcome.choices)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        app_label = "orders"
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        indexes = [
            # Admin: the history of one notification, order or registry entry, newest first.
            models.Index(fields=["target_id", "-created_at"], name="audit_target"),
            # Admin: the newest entries first (the list's default ordering).
            models.Index(fields=["-created_at"], name="audit_created"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.actor_username}: {self.outcome}"


def audit_record(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: AuditAction,
    outcome: AuditOutcome,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str = "",
    details: dict[str, Any] | None = None,
    actor_username: str | None = None,
) -> AuditEntry:
    """Write one audit entry; ``target`` (a model instance) fills in ``target_type`` and ``target_id``.
    ``actor_username`` names a caller that is not a user (an API token's organisation and subject)."""
    if target is not None:
        target_type = target._meta.label_lower
        target_id = str(target.pk)
    user = actor if isinstance(actor, AbstractBaseUser) else None
    return AuditEntry.objects.create(
        actor_id=user.pk if user is not None else None,
        actor_username=user.get_username() if user is not None else (actor_username or "system")[:150],
        action=action,
        outcome=outcome,
        target_type=target_type,
        target_id=target_id,
        details=details or {},
    )
