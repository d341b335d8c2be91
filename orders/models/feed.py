"""The status feed: one entry per order that reached a final status."""

from __future__ import annotations

from django.db import models

from orders.models.orders import Order
from orders.models.statuses import OrderStatus


class StatusFeedEntry(models.Model):
    """An order that reached a final status, as ``GET /future/shipment/feed`` reports it.

    Written once per order (the unique order), in the transaction that makes the order final; the id is
    the feed's ``sequenceNumber``. Recipients are a snapshot of the notifications at that moment, with
    their stored statuses (mapped to the lifecycle names when read).
    """

    id = models.BigAutoField(primary_key=True)
    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="feed_entry")
    creator = models.CharField(max_length=100)
    order_status = models.CharField(max_length=24, choices=OrderStatus.choices)
    # When the order reached that status (the entry's lastUpdate).
    last_update = models.DateTimeField()
    # [{"channel": "Email"|"Sms", "destination": ..., "status": ..., "lastUpdate": ...}, ...]
    recipients = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            # The feed: one creator's entries by sequence number, either direction.
            models.Index(fields=["creator", "id"], name="status_feed_creator_seq"),
            # The purge of entries past their retention.
            models.Index(fields=["created_at"], name="status_feed_created"),
        ]

    def __str__(self) -> str:
        return f"{self.id}: {self.order_id} {self.order_status}"
