"""Idempotency-Keys of the v1 order-creating POSTs."""

from __future__ import annotations

import uuid

from django.db import models

from orders.models.orders import Order


class IdempotencyKey(models.Model):
    """A client's Idempotency-Key for an order-creating POST, kept at least 24 hours.

    The unique constraint is what makes a retried POST safe: two requests with one key cannot both
    create an order. ``token`` identifies the request holding an in-flight key, so a takeover of an
    abandoned key can be detected by the request that abandoned it.
    """

    class State(models.TextChoices):
        IN_FLIGHT = "in_flight"
        DONE = "done"

    creator = models.CharField(max_length=100)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    token = models.UUIDField(default=uuid.uuid4)
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_FLIGHT)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField()
    claimed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["creator", "key"], name="idempotency_creator_key_unique")
        ]
        indexes = [
            # The purge of keys past their retention.
            models.Index(fields=["created_at"], name="idempotency_created"),
        ]

    def __str__(self) -> str:
        return f"{self.creator}:{self.key}"
