"""Sending bookkeeping: every provider attempt, every delivery report, provider pauses, sandbox mail.

The notifications themselves live in ``orders``; these tables refer to them by id and channel (two
notification tables, so no foreign key), which also keeps the audit trail when an order is deleted.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Channel(models.TextChoices):
    EMAIL = "Email"
    SMS = "Sms"


class AttemptOutcome(models.TextChoices):
    ACCEPTED = "accepted"  # the provider took the message (Succeeded / Accepted)
    PERMANENT = "permanent"  # refused for good: a final Failed_* status
    TRANSIENT = "transient"  # may work later: back to New with a backoff, or Failed when out of budget
    THROTTLED = "throttled"  # the provider asked us to slow down: back to New, budget untouched
    UNAVAILABLE = "unavailable"  # no connection to the provider: back to New, budget untouched
    LOST = "lost"  # the worker died while sending: returned to New by the stuck-send sweep


class DeliveryAttempt(models.Model):
    """One hand-over of one notification to a provider, with what the provider answered."""

    channel = models.CharField(max_length=8, choices=Channel.choices)
    notification_id = models.UUIDField()
    order_id = models.UUIDField(null=True, blank=True)
    attempt = models.PositiveIntegerField()
    provider = models.CharField(max_length=50)
    outcome = models.CharField(max_length=12, choices=AttemptOutcome.choices)
    # The notification's status after this attempt (New when it will be retried).
    status = models.CharField(max_length=40)
    provider_reference = models.CharField(max_length=200, null=True, blank=True)
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    # The provider's own answer (status line, JSON body, PDU fields), kept verbatim for support.
    raw_response = models.TextField(blank=True, default="")

    class Meta:
        indexes = [
            # The admin's history of one notification.
            models.Index(fields=["notification_id", "started_at"], name="attempt_notification"),
            # The admin's newest-first list, filtered by outcome.
            models.Index(fields=["-started_at"], name="attempt_started"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.notification_id} #{self.attempt} {self.outcome}"


class ReportState(models.TextChoices):
    PENDING = "pending"  # not matched yet; the report sweep tries again
    APPLIED = "applied"  # changed the notification's status
    IGNORED = "ignored"  # matched, nothing to change (intermediate status, or a duplicate)
    DEAD = "dead"  # cannot be applied (see reason); kept, and can be re-applied from the admin


class DeadReason(models.TextChoices):
    # The wording of the reference service's dead delivery reports, so operators see one vocabulary.
    NOTIFICATION_EXPIRED = "NOTIFICATION_EXPIRED"
    RETRY_THRESHOLD_EXCEEDED = "RETRY_THRESHOLD_EXCEEDED"
    UNRECOGNIZED_SEND_RESULT = "UNRECOGNIZED_SEND_RESULT"
    INVALID_NOTIFICATION_IDENTIFIER = "INVALID_NOTIFICATION_IDENTIFIER"
    FINAL_STATUS_ALREADY_SET = "FINAL_STATUS_ALREADY_SET"
    # Not dead, recorded on ignored reports.
    INTERMEDIATE_STATUS = "INTERMEDIATE_STATUS"
    DUPLICATE = "DUPLICATE"


class DeliveryReport(models.Model):
    """A delivery report as a provider sent it, and what became of it."""

    channel = models.CharField(max_length=8, choices=Channel.choices)
    provider = models.CharField(max_length=50)
    # The provider's message id (matched against the notification's provider_reference) ...
    reference = models.CharField(max_length=200, null=True, blank=True)
    # ... or our notification id when the provider echoes it back (callback URL, metadata); also the
    # notification the report was matched to.
    notification_id = models.UUIDField(null=True, blank=True)
    provider_status = models.CharField(max_length=100, blank=True, default="")
    # The notification status the report maps to; empty for unrecognised and intermediate statuses.
    mapped_status = models.CharField(max_length=40, blank=True, default="")
    intermediate = models.BooleanField(default=False)
    raw = models.TextField(blank=True, default="")
    state = models.CharField(max_length=8, choices=ReportState.choices, default=ReportState.PENDING)
    reason = models.CharField(max_length=40, choices=DeadReason.choices, blank=True, default="")
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The report sweep: unmatched reports due for another try.
            models.Index(fields=["next_attempt_at"], name="report_pending", condition=Q(state="pending")),
            # Admin search by provider message id.
            models.Index(fields=["provider", "reference"], name="report_reference"),
            # Admin: dead reports, newest first.
            models.Index(fields=["state", "-received_at"], name="report_state_received"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.reference or self.notification_id} {self.provider_status}"


class ProviderPause(models.Model):
    """A provider told us to back off (429, SMPP throttling) or is unreachable: no claims until then.

    In PostgreSQL rather than Redis so every worker sees it in the same transaction as its claim, and
    losing Redis cannot make us hammer a throttled provider.
    """

    key = models.CharField(max_length=80, primary_key=True)  # "<channel>:<provider>"
    paused_until = models.DateTimeField()
    reason = models.TextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.key} until {self.paused_until:%Y-%m-%d %H:%M:%S}"


class SandboxMessage(models.Model):
    """What the sandbox provider "sent": kept for viewing in the admin; its delivery report is due later."""

    channel = models.CharField(max_length=8, choices=Channel.choices)
    notification_id = models.UUIDField()
    attempt = models.PositiveIntegerField()
    recipient = models.CharField(max_length=320)
    sender = models.CharField(max_length=320)
    subject = models.TextField(blank=True, default="")
    body = models.TextField()
    content_type = models.CharField(max_length=8, blank=True, default="")
    reference = models.CharField(max_length=64, unique=True)
    # The provider status the sandbox will report later ("DELIVRD", "delivered", "bounced", ...).
    report_status = models.CharField(max_length=20, blank=True, default="")
    report_due_at = models.DateTimeField(null=True, blank=True)
    reported_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # The sandbox report sweep: messages whose report is due.
            models.Index(
                fields=["report_due_at"],
                name="sandbox_report_due",
                condition=Q(reported_at__isnull=True, report_due_at__isnull=False),
            ),
            models.Index(fields=["-created_at"], name="sandbox_created"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.recipient}"
