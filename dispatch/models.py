"""Sending bookkeeping: every provider attempt, every delivery report, provider pauses and health, sandbox
mail, the status callback outbox with its attempts and signing secrets, and counters for ``/metrics``.

The notifications themselves live in ``orders``; these tables refer to them by id and channel (two
notification tables, so no foreign key), which also keeps the audit trail when an order is deleted.
"""

from __future__ import annotations

import uuid

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
            # A notification's reports (admin detail page, retention purge).
            models.Index(
                fields=["notification_id", "received_at"],
                name="report_notification",
                condition=Q(notification_id__isnull=False),
            ),
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


# --- Status callbacks ---------------------------------------------------------------------------------


class CallbackEvent(models.TextChoices):
    NOTIFICATION_STATUS = "notification.status"  # a notification reached a final status
    ORDER_STATUS = "order.status"  # an order reached a final status (Completed, SendConditionNotMet)


class CallbackState(models.TextChoices):
    PENDING = "pending"  # to be POSTed (again) at next_attempt_at
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # given up: past give_up_at, or the address is refused by the outbound guard


class CallbackDelivery(models.Model):
    """One status callback to an order's ``statusCallbackUrl``: the outbox row and its delivery state.

    Written in the transaction that records the status it reports, so an event is never lost and never
    announced for a status that was rolled back. The payload is the snapshot of that moment.
    """

    # The event's id in the payload: receivers deduplicate on it (delivery is at least once).
    event_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    # "<kind>:<id>:<status>:<status_changed_at>": the same transition recorded twice makes one row.
    event_key = models.CharField(max_length=150, unique=True)
    event_type = models.CharField(max_length=24, choices=CallbackEvent.choices)
    creator = models.CharField(max_length=100)
    order_id = models.UUIDField()
    notification_id = models.UUIDField(null=True, blank=True)
    channel = models.CharField(max_length=8, choices=Channel.choices, blank=True, default="")
    status = models.CharField(max_length=40)
    url = models.URLField(max_length=2000)
    payload = models.JSONField()
    state = models.CharField(max_length=10, choices=CallbackState.choices, default=CallbackState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    # Due time while pending; while a worker is posting it, the end of that worker's lease.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    give_up_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        verbose_name_plural = "callback deliveries"
        indexes = [
            # The delivery claim: pending rows by due time (small: delivered rows leave it).
            models.Index(fields=["next_attempt_at"], name="callback_due", condition=Q(state="pending")),
            # Admin: newest first, and the search by order or notification id.
            models.Index(fields=["-created_at"], name="callback_created"),
            models.Index(fields=["order_id"], name="callback_order"),
            models.Index(
                fields=["notification_id"],
                name="callback_notification",
                condition=Q(notification_id__isnull=False),
            ),
        ]
        permissions = [("resend_callbackdelivery", "Can re-send status callbacks")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.status} of {self.notification_id or self.order_id}"


class CallbackAttempt(models.Model):
    """One POST of a callback: when, how long, and what the receiver answered."""

    delivery = models.ForeignKey(CallbackDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempt = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    # The start of the receiver's answer, for support (an error page says why it refused).
    response_body = models.TextField(blank=True, default="")

    class Meta:
        indexes = [
            # A delivery's attempts in order (its admin page).
            models.Index(fields=["delivery", "started_at"], name="callback_attempt_delivery"),
        ]

    def __str__(self) -> str:
        return f"#{self.attempt} {self.status_code or self.error[:40]}"


class CallbackSecret(models.Model):
    """A creator's signing key for callbacks. The newest active one signs; after a rotation the one before
    it co-signs for ``NOTIFICATIONS_CALLBACK_SECRET_GRACE_HOURS``, so receivers can switch without a gap."""

    creator = models.CharField(max_length=100)
    secret = models.CharField(max_length=100)
    created_at = models.DateTimeField()
    active = models.BooleanField(default=True)

    class Meta:
        indexes = [
            # The signer's read: a creator's active secrets, newest first.
            models.Index(fields=["creator", "-created_at"], name="callback_secret_creator"),
        ]
        permissions = [("rotate_callbacksecret", "Can rotate callback signing secrets")]

    def __str__(self) -> str:
        return f"{self.creator} secret of {self.created_at:%Y-%m-%d %H:%M}"


# --- SMS provider failover ----------------------------------------------------------------------------


class ProviderState(models.TextChoices):
    HEALTHY = "healthy"  # gets its configured share
    DOWN = "down"  # gets no share (unless every provider is down)
    PROBING = "probing"  # half-open: a small share, to learn whether it has recovered


class ProviderHealth(models.Model):
    """The current health of one SMS provider, shared by every worker (absent row: healthy)."""

    key = models.CharField(max_length=80, primary_key=True)  # "<channel>:<provider>"
    state = models.CharField(max_length=8, choices=ProviderState.choices, default=ProviderState.HEALTHY)
    changed_at = models.DateTimeField()
    reason = models.TextField(blank=True, default="")

    class Meta:
        verbose_name_plural = "provider health"

    def __str__(self) -> str:
        return f"{self.key}: {self.state}"


class ProviderHealthEvent(models.Model):
    """A provider's share changed: it went down, started probing, or recovered; with the numbers why."""

    created_at = models.DateTimeField()
    key = models.CharField(max_length=80)
    from_state = models.CharField(max_length=8, choices=ProviderState.choices)
    to_state = models.CharField(max_length=8, choices=ProviderState.choices)
    reason = models.TextField()
    attempts = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)  # 90th percentile in the window

    class Meta:
        indexes = [models.Index(fields=["-created_at"], name="provider_health_event_created")]

    def __str__(self) -> str:
        return f"{self.key}: {self.from_state} → {self.to_state}"


# --- Metrics ------------------------------------------------------------------------------------------


class MetricCounter(models.Model):
    """A Prometheus counter (or histogram bucket) kept in PostgreSQL, shared by every process and host.

    Senders add to it once per recorded chunk, so the web process's ``/metrics`` shows what every worker
    did, and a restart resets nothing.
    """

    name = models.CharField(max_length=100)
    # Label pairs as Prometheus writes them, sorted: 'channel="Sms",provider="smpp"'.
    labels = models.CharField(max_length=400, blank=True, default="")
    value = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name", "labels"], name="metric_counter_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name}{{{self.labels}}} {self.value}"
