"""The texts of an order, stored exactly as registered (keyword substitution happens per notification)."""

from __future__ import annotations

import uuid

from django.db import models


class EmailContentType(models.TextChoices):
    PLAIN = "Plain", "Plain"
    HTML = "Html", "Html"


class EmailTemplate(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    from_address = models.CharField(max_length=320)
    subject = models.TextField()
    body = models.TextField()
    content_type = models.CharField(
        max_length=8, choices=EmailContentType.choices, default=EmailContentType.PLAIN
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.subject[:80]


class SmsTemplate(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sender_number = models.CharField(max_length=32)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.body[:80]
