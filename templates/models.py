"""The texts of an order, stored exactly as registered (keyword substitution happens per notification),
and the stored templates a service owner keeps, one immutable row per version, to create such texts from."""

from __future__ import annotations

import uuid

from django.db import models


class EmailContentType(models.TextChoices):
    PLAIN = "Plain", "Plain"
    HTML = "Html", "Html"


class TemplateType(models.TextChoices):
    EMAIL = "Email", "Email"
    SMS = "Sms", "Sms"


class StoredTemplate(models.Model):
    """A creator's stored template; its content is in its versions, the newest being ``version``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    creator = models.CharField(max_length=100)
    type = models.CharField(max_length=8, choices=TemplateType.choices)
    # The number of the newest version (versions are numbered 1, 2, ... per template).
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set by DELETE: the template is gone from the API, but orders made from it keep their texts.
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["creator", "-created_at"], name="stored_template_creator")]

    def __str__(self) -> str:
        return str(self.id)


class StoredTemplateVersion(models.Model):
    """One version of a stored template, never changed once written (a trigger refuses UPDATE)."""

    template = models.ForeignKey(StoredTemplate, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    subject = models.TextField(blank=True, default="")  # email only
    body = models.TextField()
    content_type = models.CharField(max_length=8, blank=True, default="")  # email only: Plain or Html
    # The email's from address or the SMS sender; empty means the service's configured default.
    sender = models.CharField(max_length=320, blank=True, default="")
    # The personalisation fields the subject and body name, in order of first appearance.
    fields = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="stored_template_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} (version {self.number})"


class EmailTemplate(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    from_address = models.CharField(max_length=320)
    subject = models.TextField()
    body = models.TextField()
    content_type = models.CharField(
        max_length=8, choices=EmailContentType.choices, default=EmailContentType.PLAIN
    )
    # The stored template version the text was rendered from, when the order named one.
    stored_version = models.ForeignKey(
        StoredTemplateVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.subject[:80]


class SmsTemplate(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sender_number = models.CharField(max_length=32)
    body = models.TextField()
    stored_version = models.ForeignKey(
        StoredTemplateVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.body[:80]
