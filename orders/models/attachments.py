"""The attachments of a composed email: where to fetch each file when the email is sent.

Only the reference is stored (name, declared type, HTTPS link); the bytes are fetched by the sender at
send time, through the outbound guard, and never kept.
"""

from __future__ import annotations

from django.db import models

from orders.models.orders import Order


class EmailAttachment(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="attachments")
    position = models.PositiveSmallIntegerField()
    filename = models.CharField(max_length=255)
    mime_type = models.CharField(max_length=255)
    # Signed links carry long query strings: no length limit beyond the request's own.
    url = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "position"], name="email_attachment_order_position")
        ]

    def __str__(self) -> str:
        return self.filename
